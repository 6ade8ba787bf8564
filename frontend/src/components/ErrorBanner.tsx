// A failed request or a refused form, said where the user looks (role=alert: screen readers announce it).
import type { CSSProperties } from "react";

/** The message of whatever a request threw (an ApiError, an Error, a string); null when there is nothing to say. */
export function errorText(error: unknown): string | null {
  if (error === null || error === undefined || error === "") return null;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorBanner({ error, style }: { error: unknown; style?: CSSProperties }) {
  const text = errorText(error);
  if (text === null) return null;
  return (
    <p role="alert" className="error" style={style}>
      {text}
    </p>
  );
}
