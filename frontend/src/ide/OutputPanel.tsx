// The live output of one job: logs from the job socket into a LogBuffer, refetching over HTTP on gaps.
import { useEffect, useMemo, useState } from "react";
import { api } from "../api/endpoints";
import type { Job, JobState, LogChunk } from "../api/types";
import { ACTIVE_STATES } from "../api/types";
import { useApp } from "../app";
import { copyText } from "../clipboard";
import { LogBuffer } from "../logs/logBuffer";
import { LogView } from "../logs/LogView";
import { JOB_STREAMS, LiveSocket } from "../ws/live";

export interface OutputPanelProps {
  job: Job | null;
  onState: (jobId: number, patch: Partial<Job>) => void;
}

export function OutputPanel({ job, onState }: OutputPanelProps) {
  const { notify } = useApp();
  const jobId = job?.id ?? null;
  const buffer = useMemo(() => new LogBuffer(), [jobId]); // eslint-disable-line react-hooks/exhaustive-deps
  const [follow, setFollow] = useState(true);
  const [status, setStatus] = useState("");

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
      <LogView
        buffer={buffer}
        label={`Output of run ${job.id}`}
        follow={follow}
        onFollowChange={setFollow}
        emptyText={active ? "Waiting for output…" : "No output."}
      />
    </div>
  );
}
