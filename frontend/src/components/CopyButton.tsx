import type { ReactNode } from "react";
import { useApp } from "../app";
import { copyText } from "../clipboard";

// Copies `text` and says so in a toast: "<label> copied to the clipboard." (or "Copied to the clipboard."
// without a label); when the browser refuses, asks the user to select `what` and copy it by hand.
export function CopyButton({
  text,
  what,
  label,
  children = "Copy",
}: {
  text: string;
  what: string;
  label?: string;
  children?: ReactNode;
}) {
  const { notify } = useApp();
  const copy = async () =>
    (await copyText(text))
      ? notify(label ? `${label} copied to the clipboard.` : "Copied to the clipboard.")
      : notify(`Could not copy: select the ${what} and copy it.`, { kind: "fail" });
  return (
    <button type="button" onClick={() => void copy()}>
      {children}
    </button>
  );
}
