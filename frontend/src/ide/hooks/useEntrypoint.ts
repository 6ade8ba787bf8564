// Which file Run starts: the workspace's Python files outside dot-folders, example.py/main.py/app.py first, or the
// one the user chose last time in this workspace. The menu and Run always name the same file: a chosen file that
// is gone (deleted, renamed) gives way to the default in both. The entrypoint is opened when the IDE first loads.
import { useEffect, useMemo, useRef } from "react";
import type { Entry } from "../../api/types";
import { useRemembered } from "./useRemembered";

const PREFERRED = ["example.py", "main.py", "app.py"];

export function entrypointsOf(entries: Entry[]): string[] {
  return entries.filter((e) => e.type === "file" && e.path.endsWith(".py") && !e.path.startsWith(".")).map((e) => e.path);
}

export function useEntrypoint(workspaceId: number, entries: Entry[], openFile: (path: string) => unknown) {
  const entrypoints = useMemo(() => entrypointsOf(entries), [entries]);
  const [chosen, setEntrypoint] = useRemembered(`pyrun.entrypoint.${workspaceId}`);
  const entrypoint = entrypoints.includes(chosen)
    ? chosen
    : (PREFERRED.find((p) => entrypoints.includes(p)) ?? entrypoints[0] ?? "");

  const opened = useRef(false);
  useEffect(() => {
    if (!opened.current && entrypoint) {
      opened.current = true;
      void openFile(entrypoint);
    }
  }, [entrypoint, openFile]);

  return { entrypoints, entrypoint, setEntrypoint };
}
