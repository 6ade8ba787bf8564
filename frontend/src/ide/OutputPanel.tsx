// The live output of one job: logs from the job socket into a LogBuffer, refetching over HTTP on gaps. Find
// (marks and steps through matches), a filter by text and stream, the whole log's download, traceback frames as
// links to the file and line, and the last traceback's frames as problem markers in the editor.
import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../api/endpoints";
import type { Job, JobState, LogChunk } from "../api/types";
import { ACTIVE_STATES } from "../api/types";
import { useApp } from "../app";
import { copyText } from "../clipboard";
import { LogBuffer } from "../logs/logBuffer";
import { LogView, type LineLink } from "../logs/LogView";
import { lineFilter, matchingIndices, OUTPUT_STREAMS, STREAM_LABELS, stepMatch } from "../logs/outputFilter";
import { JOB_STREAMS, LiveSocket } from "../ws/live";
import { setRunProblems } from "./editorNav";
import { frameLink, lastTracebackProblems } from "./navigation";

export interface OutputPanelProps {
  job: Job | null;
  onState: (jobId: number, patch: Partial<Job>) => void;
  /** The workspace's files (traceback links and markers only for these; undefined while the tree loads). */
  known?: ReadonlySet<string>;
  /** Opens a workspace file at a line (a traceback frame's link). */
  onOpenAt?: (path: string, line: number) => void;
}

const TRACEBACK_TAIL = 5000; // lines read from the end for the last traceback's markers

/** The last traceback of the buffer marked in the editor, again whenever output comes (debounced), cleared
 * when another run's output is shown. */
function useRunProblems(buffer: LogBuffer, workspaceId: number | null, known: ReadonlySet<string> | undefined) {
  useEffect(() => {
    if (workspaceId === null) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const update = () => {
      timer = undefined;
      const lines = buffer.lines(Math.max(0, buffer.length - TRACEBACK_TAIL)).map((l) => l.text);
      setRunProblems(workspaceId, lastTracebackProblems(lines, known));
    };
    update();
    const off = buffer.subscribe(() => {
      if (!timer) timer = setTimeout(update, 300);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [buffer, workspaceId, known]);
}

export function OutputPanel({ job, onState, known, onOpenAt }: OutputPanelProps) {
  const { notify } = useApp();
  const jobId = job?.id ?? null;
  const buffer = useMemo(() => new LogBuffer(), [jobId]); // eslint-disable-line react-hooks/exhaustive-deps
  const [follow, setFollow] = useState(true);
  const [status, setStatus] = useState("");
  const [filterText, setFilterText] = useState("");
  const [stream, setStream] = useState("");
  const [find, setFind] = useState("");
  const [current, setCurrent] = useState<number | null>(null);
  const filter = useMemo(() => lineFilter(filterText, stream), [filterText, stream]);
  useRunProblems(buffer, job?.workspace ?? null, known);
  useEffect(() => setCurrent(null), [find, jobId]);

  const linkOf = useCallback(
    (text: string): LineLink | null => {
      if (!onOpenAt) return null;
      const link = frameLink(text, known);
      return link
        ? { start: link.start, end: link.end, title: `Open ${link.path} at line ${link.line}`, onOpen: () => onOpenAt(link.path, link.line) }
        : null;
    },
    [known, onOpenAt],
  );
  const step = (backwards: boolean) => {
    const matches = matchingIndices(buffer.lines(), find, filter);
    const next = stepMatch(matches, current, backwards);
    if (next === null) notify(`“${find}” is not in the output.`);
    setCurrent(next);
  };

  useEffect(() => {
    if (jobId === null) return;
    let stopped = false;
    let fetching = false;
    const fillGaps = async () => {
      if (fetching) return;
      fetching = true;
      try {
        let after = buffer.missingAfter();
        while (!stopped && after !== null) {
          const page = await api.logs(jobId, after);
          buffer.add(page.chunks);
          if (!page.chunks.length) break;
          after = buffer.missingAfter();
        }
      } catch {
        /* the socket will resend on reconnect */
      } finally {
        fetching = false;
      }
    };
    const socket = new LiveSocket({
      path: `/ws/jobs/${jobId}/`,
      streams: ["log"],
      cursors: { log: buffer.lastSeq },
      fields: JOB_STREAMS,
      onStatus: (s, detail) => setStatus(s === "refused" ? `refused (${detail})` : s === "open" ? "" : s),
      onMessage: (message) => {
        if (message.type === "job.log") {
          buffer.add(message.chunks as LogChunk[]);
          if (buffer.missingAfter() !== null) void fillGaps();
        } else if (message.type === "job.state") {
          const state = message.state as JobState;
          onState(jobId, {
            state,
            exit_code: (message.exit_code as number | null) ?? null,
            error: (message.error as Job["error"]) ?? null,
            finished_at: (message.finished_at as string | null) ?? null,
            tasks_total: (message.tasks_total as number | null) ?? null,
            tasks_failed: (message.tasks_failed as number | null) ?? null,
            tasks_lost: (message.tasks_lost as number | null) ?? null,
          });
        }
      },
    });
    return () => {
      stopped = true;
      socket.close();
    };
  }, [jobId, buffer, onState]);

  if (!job) return <p className="empty">Press Run to start the entrypoint: its output appears here, live.</p>;
  const active = ACTIVE_STATES.includes(job.state);
  return (
    <div className="output">
      <div className="output-bar">
        <span>
          Run #{job.id} · {job.entrypoint} · <span className={`state state-${job.state}`}>{job.state}</span>
          {job.exit_code !== null && ` · exit ${job.exit_code}`}
        </span>
        {job.error && <span className="error">{job.error.message}</span>}
        {status && <span className="muted">socket {status}</span>}
        <span className="spacer" />
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <a href={`/api/v1/jobs/${job.id}/export/log/`} download title="Download the whole output as a text file">
          Download log
        </a>
        <button
          title="Copy the output kept in the browser"
          onClick={async () =>
            (await copyText(buffer.text()))
              ? notify("Output copied to the clipboard.")
              : notify("Could not copy the output.", { kind: "fail" })
          }
        >
          Copy
        </button>
      </div>
      <div className="output-bar output-tools">
        <form
          role="search"
          aria-label="Find in the output"
          onSubmit={(e) => {
            e.preventDefault();
            if (find) step(false);
          }}
        >
          <input
            type="search"
            aria-label="Find in the output"
            placeholder="Find"
            value={find}
            onChange={(e) => setFind(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && e.shiftKey && find) {
                e.preventDefault();
                step(true);
              }
            }}
          />
          <button type="button" disabled={!find} onClick={() => step(true)} aria-label="Previous match" title="Previous match (Shift+Enter)">
            ↑
          </button>
          <button type="submit" disabled={!find} aria-label="Next match" title="Next match (Enter)">
            ↓
          </button>
        </form>
        <input
          type="search"
          aria-label="Filter the output"
          placeholder="Filter lines"
          value={filterText}
          onChange={(e) => setFilterText(e.target.value)}
        />
        <select aria-label="Stream" value={stream} onChange={(e) => setStream(e.target.value)}>
          <option value="">All streams</option>
          {OUTPUT_STREAMS.map((s) => (
            <option key={s} value={s}>
              {STREAM_LABELS[s]}
            </option>
          ))}
        </select>
      </div>
      <LogView
        buffer={buffer}
        label={`Output of run ${job.id}`}
        follow={follow}
        onFollowChange={setFollow}
        emptyText={active ? "Waiting for output…" : "No output."}
        filter={filter}
        highlight={find}
        current={current}
        linkOf={onOpenAt ? linkOf : undefined}
      />
    </div>
  );
}
