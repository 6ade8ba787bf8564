import type { Job } from "../api/types";
import { ACTIVE_STATES } from "../api/types";
import { formatDuration, formatTime } from "../app";
import { ACTIONS, DataTable, type Column } from "../components";

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
  const columns: Column<Job>[] = [
    {
      header: "Run",
      cell: (job) => (
        <>
          #{job.id}
          {job.rerun_of ? <span className="muted"> (re-run of #{job.rerun_of})</span> : null}
        </>
      ),
    },
    { header: "State", cell: (job) => job.state, className: (job) => `state state-${job.state}` },
    { header: "Entrypoint", cell: (job) => job.entrypoint, className: "mono" },
    { header: "Backend", cell: (job) => job.backend },
    { header: "Duration", cell: (job) => formatDuration(job.duration_seconds) },
    { header: "Who", cell: (job) => job.created_by ?? "–" },
    { header: "Started", cell: (job) => formatTime(job.created_at) },
    {
      header: ACTIONS,
      className: "row",
      tdProps: { style: { flexWrap: "nowrap" } },
      cell: (job) => (
        <>
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
          {!readOnly && ACTIVE_STATES.includes(job.state) && (
            <button className="danger" onClick={() => onCancel(job)} aria-label={`Cancel run ${job.id}`}>
              Cancel
            </button>
          )}
        </>
      ),
    },
  ];
  return (
    <div>
      <div className="output-bar">
        <span>{older ? `${jobs.length} of ${total} runs` : `${jobs.length} runs`}</span>
        <span className="spacer" />
        <button onClick={onRefresh}>Refresh</button>
      </div>
      <DataTable
        aria-label="Runs history"
        data-testid="runs-history"
        columns={columns}
        rows={jobs}
        rowKey={(job) => job.id}
        rowProps={(job) => ({
          "data-job": job.id,
          "data-state": job.state,
          "aria-current": job.id === selectedId || undefined,
        })}
      />
      {older > 0 && (
        <div className="output-bar">
          <button onClick={onLoadOlder}>Load older runs ({older} more)</button>
        </div>
      )}
    </div>
  );
}
