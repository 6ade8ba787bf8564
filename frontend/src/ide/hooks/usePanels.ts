// The bottom panels: which one is shown and which run they show, kept in the URL (?tab=&job=) so a link or a
// reload opens the same view. The terminal stays mounted once opened (its shell keeps running).
import { useCallback, useEffect, useState } from "react";
import { useSearchParams } from "react-router-dom";

export const PANELS = [
  ["output", "Output"],
  ["gantt", "Gantt"],
  ["metrics", "Metrics"],
  ["runs", "Runs"],
  ["runtime", "Runtime"],
  ["terminal", "Terminal"],
  ["config", "Lithops config"],
] as const;
export type Panel = (typeof PANELS)[number][0];

export function usePanels() {
  const [search, setSearch] = useSearchParams();
  const panel = (search.get("tab") as Panel) || "output";
  const jobParam = search.get("job");
  const jobId = jobParam ? Number(jobParam) : null;

  const setPanel = useCallback(
    (tab: Panel, job?: number) =>
      setSearch(
        (old) => {
          const next = new URLSearchParams(old);
          next.set("tab", tab);
          if (job !== undefined) next.set("job", String(job));
          return next;
        },
        { replace: true },
      ),
    [setSearch],
  );

  const [terminalOpened, setTerminalOpened] = useState(false);
  useEffect(() => {
    if (panel === "terminal") setTerminalOpened(true);
  }, [panel]);

  return { panel, setPanel, jobId, terminalOpened };
}
