import type { Job } from "../api/types";
import { ACTIVE_STATES } from "../api/types";
import { formatDuration, formatTime } from "../app";

export interface RunsHistoryProps {
  jobs: Job[]; // the newest runs, newest first: the first pages of the workspace's history
  total: number; // runs in the whole history
  onLoadOlder: () => void;
  selectedId: number | null;
  readOnly: boolean;
  onOpen: (job: Job, tab: "output" | "gantt") => void;
  onRerun: (job: Job) => void;
  onCancel: (job: Job) => void;
  onRefresh: () => void;
}

export function RunsHistory(props: RunsHistoryProps) {
  const { jobs, total, onLoadOlder, selectedId, readOnly, onOpen, onRerun, onCancel, onRefresh } = props;
  const older = Math.max(total - jobs.length, 0);
  return (
    <div>
      <div className="output-bar">
        <span>{older ? `${jobs.length} of ${total} runs` : `${jobs.length} runs`}</span>
        <span className="spacer" />
        <button onClick={onRefresh}>Refresh</button>
      </div>
      <table aria-label="Runs history" data-testid="runs-history">
        <thead>
          <tr>
            <th>Run</th>
            <th>State</th>
            <th>Entrypoint</th>
            <th>Backend</th>
            <th>Duration</th>
            <th>Who</th>
            <th>Started</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const active = ACTIVE_STATES.includes(job.state);
            return (
              <tr key={job.id} data-job={job.id} data-state={job.state} aria-current={job.id === selectedId || undefined}>
                <td>
                  #{job.id}
                  {job.rerun_of ? <span className="muted"> (re-run of #{job.rerun_of})</span> : null}
                </td>
                <td className={`state state-${job.state}`}>{job.state}</td>
                <td className="mono">{job.entrypoint}</td>
                <td>{job.backend}</td>
                <td>{formatDuration(job.duration_seconds)}</td>
                <td>{job.created_by ?? "–"}</td>
                <td>{formatTime(job.created_at)}</td>
                <td className="row" style={{ flexWrap: "nowrap" }}>
                  <button onClick={() => onOpen(job, "output")} aria-label={`Logs of run ${job.id}`}>
                    Logs
                  </button>
                  <button onClick={() => onOpen(job, "gantt")} aria-label={`Gantt of run ${job.id}`}>
                    Gantt
                  </button>
                  {!readOnly && (
                    <button onClick={() => onRerun(job)} aria-label={`Re-run run ${job.id}`}>
                      Re-run
                    </button>
                  )}
                  {!readOnly && active && (
                    <button className="danger" onClick={() => onCancel(job)} aria-label={`Cancel run ${job.id}`}>
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {older > 0 && (
        <div className="output-bar">
          <button onClick={onLoadOlder}>Load older runs ({older} more)</button>
        </div>
      )}
    </div>
  );
}
