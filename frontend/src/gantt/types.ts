// Shapes of the monitoring API and of the live messages (monitoring/live.py, monitoring/timeline.py,
// monitoring/metrics.py). Times are epoch seconds.

export type TaskStatus = "running" | "finished" | "failed";
export type Phase = "task" | "compute" | "transfer" | "disk-read" | "disk-write";

/** A task event as the websocket (`job.tasks`) and the tasks API send it. */
export interface TaskEvent {
  seq: number;
  framework: string;
  group: string;
  key: string;
  phase: string;
  status: string;
  lane: string | null;
  start: number;
  end: number | null;
  error?: string;
  figures?: Record<string, unknown>;
  duration?: number | null; // the tasks API only
  output?: string; // the tasks API only: what the task printed (cut with a marker past the cap)
}

export interface ResourceSampleEvent {
  seq: number;
  t: number;
  cpu_percent: number;
  rss_bytes: number;
  processes: number;
  read_bytes: number;
  write_bytes: number;
  net_sent_bytes: number;
  net_recv_bytes: number;
}

export interface JobStateMessage {
  type: "job.state";
  state: string;
  exit_code: number | null;
  error: unknown;
  finished_at: string | null;
}

export interface TimelineRow {
  index: number;
  label: string;
  lanes: string[];
}

export interface TimelineBar {
  row: number;
  lane: string | null;
  start: number;
  end: number;
  count: number;
  status: string;
  statuses: Record<string, number>;
  key: string | null;
  group: string | null;
  phase: string | null;
  seq: number | null;
}

/** A task group's counts and span (the metrics API's `groups`). */
export interface GroupSummary {
  group: string;
  framework: string;
  tasks: number;
  running: number;
  finished: number;
  failed: number;
  lost?: number; // tasks that had not reported their end when the job's processes ended
  start: number;
  end: number | null;
}

/** A group in a timeline window: with how many of its tasks the window holds. */
export interface TimelineGroup extends GroupSummary {
  in_window: number;
}

/** `GET /api/v1/jobs/{id}/timeline/?start=&end=&width=&rows=` */
export interface TimelineResponse {
  window: { start: number; end: number; width: number; seconds_per_pixel: number };
  now: number;
  exact: boolean;
  tasks: number;
  lanes: number;
  rows: TimelineRow[];
  groups: TimelineGroup[];
  bars: TimelineBar[];
}

export const TERMINAL_JOB_STATES = new Set(["succeeded", "failed", "cancelled", "timed_out"]);
