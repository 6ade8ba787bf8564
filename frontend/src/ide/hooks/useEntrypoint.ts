// Which file Run starts: the workspace's Python files outside dot-folders, example.py/main.py/app.py first.
// The chosen entrypoint is opened in the editor when the IDE first loads.
import { useEffect, useMemo, useRef, useState } from "react";
import type { Entry } from "../../api/types";

const PREFERRED = ["example.py", "main.py", "app.py"];

export function entrypointsOf(entries: Entry[]): string[] {
  return entries.filter((e) => e.type === "file" && e.path.endsWith(".py") && !e.path.startsWith(".")).map((e) => e.path);
}

export function useEntrypoint(entries: Entry[], openFile: (path: string) => unknown) {
  const entrypoints = useMemo(() => entrypointsOf(entries), [entries]);
  const [entrypoint, setEntrypoint] = useState("");
  useEffect(() => {
    if (!entrypoint && entrypoints.length) setEntrypoint(PREFERRED.find((p) => entrypoints.includes(p)) ?? entrypoints[0]);
  }, [entrypoints, entrypoint]);

  const opened = useRef(false);
  useEffect(() => {
    if (!opened.current && entrypoint) {
      opened.current = true;
      void openFile(entrypoint);
    }
  }, [entrypoint, openFile]);

  return { entrypoints, entrypoint, setEntrypoint };
}
