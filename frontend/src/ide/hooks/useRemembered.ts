// A choice the IDE keeps for the next visit (per browser): the entrypoint and the backend of a workspace.
import { useCallback, useState } from "react";

function read(key: string, fallback: string): string {
  try {
    return localStorage.getItem(key) ?? fallback;
  } catch {
    return fallback; // storage refused (private mode, quota): the choice lasts this visit only
  }
}

export function useRemembered(key: string, fallback = ""): [string, (value: string) => void] {
  const [value, setValue] = useState(() => read(key, fallback));
  const remember = useCallback(
    (next: string) => {
      setValue(next);
      try {
        localStorage.setItem(key, next);
      } catch {
        // as above
      }
    },
    [key],
  );
  return [value, remember];
}
