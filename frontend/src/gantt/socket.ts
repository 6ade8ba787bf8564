// A job's live socket for the Gantt and metrics panels (docs/live.md): batch frames, resume cursors, reconnect.
// Every stream item has a seq; the helper remembers the last one of each stream and reconnects with
// `<stream>_after=<seq>`, so nothing is missed or replayed. Refusals (4401/4403/4404) are final.

import { fromColumns, sliceColumns, type TaskColumns } from "./columns";
import type { JobStateMessage, ResourceSampleEvent, TaskEvent } from "./types";

export interface LiveHandlers {
  tasks?: (events: TaskEvent[]) => void;
  /** Given: the history comes as columns (`tasks_format=columns`, parsed several times faster), live events still
   * come to `tasks`. */
  taskColumns?: (columns: TaskColumns) => void;
  samples?: (samples: ResourceSampleEvent[]) => void;
  state?: (message: JobStateMessage) => void;
  synced?: () => void;
  status?: (status: "connecting" | "open" | "closed" | "refused") => void;
}

const FIELDS: Record<string, [string, string]> = { "job.tasks": ["tasks", "events"], "job.samples": ["samples", "samples"] };
const FIELDS_BY_STREAM: Record<string, string> = { tasks: "job.tasks", samples: "job.samples" };

export function jobSocketUrl(
  jobId: number,
  streams: string[],
  cursors: Record<string, number>,
  columns = false,
): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const params = new URLSearchParams({ streams: streams.join(",") });
  for (const stream of streams) if (cursors[stream]) params.set(`${stream}_after`, String(cursors[stream]));
  if (columns && streams.includes("tasks")) params.set("tasks_format", "columns");
  return `${scheme}://${location.host}/ws/jobs/${jobId}/?${params}`;
}

/** Follow job `jobId`; `cursors` are the last seqs already held (e.g. from a store). Returns a closer. */
export function followJob(
  jobId: number,
  streams: string[],
  handlers: LiveHandlers,
  cursors: Record<string, number> = {},
): () => void {
  const seen: Record<string, number> = { ...cursors };
  let socket: WebSocket | null = null;
  let stopped = false;
  let retry = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const handle = (message: Record<string, unknown>) => {
    const type = message.type as string;
    const field = FIELDS[type];
    if (type === "job.tasks" && message.columns) {
      let columns = message.columns as TaskColumns;
      const after = seen.tasks ?? 0;
      let from = 0;
      while (from < columns.n && columns.seq[from] <= after) from++;
      if (from >= columns.n) return;
      if (from) columns = sliceColumns(columns, from);
      seen.tasks = columns.seq[columns.n - 1];
      if (handlers.taskColumns) handlers.taskColumns(columns);
      else handlers.tasks?.(fromColumns(columns));
    } else if (field) {
      const [stream, name] = field;
      const items = ((message[name] as { seq: number }[]) ?? []).filter((item) => item.seq > (seen[stream] ?? 0));
      if (!items.length) return;
      seen[stream] = items[items.length - 1].seq;
      if (stream === "tasks") handlers.tasks?.(items as TaskEvent[]);
      else handlers.samples?.(items as ResourceSampleEvent[]);
    } else if (type === "dropped") {
      // The server skipped items of a stream this client read too slowly (docs/live.md): reconnect from before
      // the hole, and the history read from the database on connect fills it (as columns, when asked).
      const stream = message.stream as string;
      const first = Number(message.first);
      if (stream in FIELDS_BY_STREAM && first > 0) {
        seen[stream] = Math.min(seen[stream] ?? 0, first - 1);
        const old = socket;
        socket = null; // what this socket still delivers is ignored: it would move the cursor past the hole
        old?.close();
      }
    } else if (type === "job.state") handlers.state?.(message as unknown as JobStateMessage);
    else if (type === "synced") handlers.synced?.();
  };

  const connect = () => {
    if (stopped) return;
    handlers.status?.("connecting");
    const ws = new WebSocket(jobSocketUrl(jobId, streams, seen, !!handlers.taskColumns));
    socket = ws;
    ws.onopen = () => {
      retry = 0;
      handlers.status?.("open");
    };
    ws.onmessage = (event) => {
      try {
        const frame = JSON.parse(event.data as string);
        for (const message of frame.type === "batch" ? frame.messages : [frame]) {
          if (socket !== ws) return;
          handle(message);
        }
      } catch {
        /* a frame that is not JSON: ignore it */
      }
    };
    ws.onclose = (event) => {
      if (socket === ws) socket = null;
      if (stopped) return;
      if (event.code >= 4400 && event.code < 4500) {
        handlers.status?.("refused");
        return;
      }
      handlers.status?.("closed");
      timer = setTimeout(connect, Math.min(15000, 500 * 2 ** retry++));
    };
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close();
  };
}
