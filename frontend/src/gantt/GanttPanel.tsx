// The Gantt tab of a job: every task as a bar on its worker's lane, live while the job runs.
// Live: the job's socket (`tasks,state`) fills a local store; once it has caught up every view is laid out
// in the browser. Otherwise the server's `timeline/` draws each window, downsampled to the screen.

import { useCallback, useEffect, useMemo, useState } from "react";
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

function GanttForJob({ jobId, live }: GanttPanelProps) {
  const store = useMemo(() => new TaskStore(), []);
  const [version, setVersion] = useState(0);
  const [synced, setSynced] = useState(false);
  const [ended, setEnded] = useState<{ ended: boolean; at: number | null }>({ ended: !live, at: null });

  useEffect(() => {
    const controller = new AbortController();
    fetchJob(jobId, controller.signal).then(
      (job) => {
        const at = job.finished_at ? Date.parse(job.finished_at) / 1000 : null;
        setEnded({ ended: TERMINAL_JOB_STATES.has(job.state), at });
      },
      () => undefined,
    );
    return () => controller.abort();
  }, [jobId, live]);

  useEffect(() => {
    if (!live) return;
    let pending = false;
    const stop = followJob(
      jobId,
      ["tasks", "state"],
      {
        tasks: (events) => {
          if (store.merge(events) && !pending) {
            // One React update per animation frame however many frames of events arrive.
            pending = true;
            requestAnimationFrame(() => {
              pending = false;
              setVersion(store.version);
            });
          }
        },
        state: (message) => {
          const at = message.finished_at ? Date.parse(message.finished_at) / 1000 : null;
          setEnded({ ended: TERMINAL_JOB_STATES.has(message.state), at });
        },
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
