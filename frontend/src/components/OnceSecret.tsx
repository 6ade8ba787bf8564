// A secret the server shows only once (a new token's key, an invitation link): the value to copy, and Done.
import type { ReactNode } from "react";
import { CopyButton } from "./CopyButton";

export interface OnceSecretProps {
  value: string;
  what: string; // for the copy button's "select the <what> and copy it"
  testId: string;
  onDone: () => void;
  label?: string; // the alert's accessible name
  wrap?: boolean; // break long values (links) anywhere
  children: ReactNode; // what the value is
}

export function OnceSecret({ value, what, testId, onDone, label, wrap, children }: OnceSecretProps) {
  return (
    <div className="card" role="alert" aria-label={label} style={{ marginTop: 12, borderColor: "var(--warn)" }}>
      <p style={{ marginTop: 0 }}>{children}</p>
      <div className="row">
        <code data-testid={testId} style={wrap ? { userSelect: "all", wordBreak: "break-all" } : { userSelect: "all" }}>
          {value}
        </code>
        <CopyButton text={value} what={what} />
        <button onClick={onDone}>Done</button>
      </div>
    </div>
  );
}
