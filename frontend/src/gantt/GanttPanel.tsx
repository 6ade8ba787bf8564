// The Gantt tab of a job: every task as a bar on its worker's lane, live while the job runs.
// Live: the job's socket (`tasks,state`) fills a local store; once it has caught up every view is laid out
// in the browser. Otherwise the server's `timeline/` draws each window, downsampled to the screen.

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import { keys } from "../api/queries";
import { fetchJob, fetchTask, fetchTimeline } from "./api";
import type { TimelineQuery } from "./engine";
import { GanttChart } from "./GanttChart";
import { followJob } from "./socket";
import { TaskStore } from "./store";
import { TERMINAL_JOB_STATES } from "./types";

export interface GanttPanelProps {
  jobId: number;
  live: boolean;
}

interface Ended {
  ended: boolean;
  at: number | null; // epoch seconds
}

const endedOf = (job: { state: string; finished_at: string | null }): Ended => ({
  ended: TERMINAL_JOB_STATES.has(job.state),
  at: job.finished_at ? Date.parse(job.finished_at) / 1000 : null,
});

function GanttForJob({ jobId, live }: GanttPanelProps) {
  const store = useMemo(() => new TaskStore(), []);
  const [version, setVersion] = useState(0);
  const [synced, setSynced] = useState(false);
  // Whether the job ended and when: from the socket's state messages, else as last read.
  const [told, setEnded] = useState<Ended | null>(null);
  const { data: summary } = useQuery({
    queryKey: keys.jobSummary(jobId, live),
    queryFn: ({ signal }) => fetchJob(jobId, signal),
    placeholderData: keepPreviousData,
  });
  const ended = told ?? (summary ? endedOf(summary) : { ended: !live, at: null });

  useEffect(() => {
    if (!live) return;
    let pending = false;
    const changed = (merged: number) => {
      if (merged && !pending) {
        // One React update per animation frame however many frames of events arrive.
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          setVersion(store.version);
        });
      }
    };
    const stop = followJob(
      jobId,
      ["tasks", "state"],
      {
        tasks: (events) => changed(store.merge(events)),
        taskColumns: (columns) => changed(store.mergeColumns(columns)),
        state: (message) => setEnded(endedOf(message)),
        synced: () => setSynced(true),
      },
      { tasks: store.lastSeq },
    );
    return stop;
  }, [jobId, live, store]);

  const timeline = useCallback(
    (query: TimelineQuery, signal: AbortSignal) => fetchTimeline(jobId, query, signal),
    [jobId],
  );
  const task = useCallback((key: string, phase: string | null) => fetchTask(jobId, key, phase), [jobId]);

  return (
    <GanttChart
      store={store}
      version={version}
      live={live}
      synced={synced}
      jobEnded={ended.ended}
      endedAt={ended.at}
      fetchTimeline={timeline}
      fetchTask={task}
      exportBase={`/api/v1/jobs/${jobId}/`}
    />
  );
}

/** `<GanttPanel jobId={42} live={job.state === "running"} />` */
export function GanttPanel({ jobId, live }: GanttPanelProps) {
  // A new job is a new chart (its own store, socket and view).
  return <GanttForJob key={jobId} jobId={jobId} live={live} />;
}
