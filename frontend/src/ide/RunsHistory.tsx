import { useState } from "react";
import type { Job, JobState } from "../api/types";
import { ACTIVE_STATES } from "../api/types";
import { formatDuration, formatTime } from "../app";
import { ACTIONS, DataTable, type Column } from "../components";
import { TaskWarningBadge, taskCountsText } from "./TaskCounts";

const STATES: JobState[] = ["queued", "preparing", "running", "succeeded", "failed", "cancelled", "timed_out"];

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
  // Filters over the runs loaded so far (older pages come with "Load older runs").
  const [state, setState] = useState<JobState | "">("");
  const [withFailures, setWithFailures] = useState(false);
  const shown = jobs.filter(
    (job) => (!state || job.state === state) && (!withFailures || (job.tasks_failed ?? 0) + (job.tasks_lost ?? 0) > 0),
  );
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
    {
      header: "State",
      cell: (job) => (
        <>
          <span className={`state state-${job.state}`}>{job.state}</span> <TaskWarningBadge job={job} />
        </>
      ),
    },
    { header: "Tasks", cell: taskCountsText, className: "mono nowrap" },
    { header: "Exit", cell: (job) => (job.exit_code === null ? "–" : String(job.exit_code)), className: "mono" },
    { header: "Entrypoint", cell: (job) => job.entrypoint, className: "mono" },
    { header: "Backend", cell: (job) => job.backend },
    { header: "Duration", cell: (job) => formatDuration(job.duration_seconds) },
    { header: "Who", cell: (job) => job.created_by ?? "–" },
    { header: "Started", cell: (job) => formatTime(job.created_at), className: "nowrap" },
    {
      header: ACTIONS,
      className: "row nowrap",
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
        <label>
          State{" "}
          <select aria-label="Filter by state" value={state} onChange={(e) => setState(e.target.value as JobState | "")}>
            <option value="">all</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={withFailures} onChange={(e) => setWithFailures(e.target.checked)} /> with
          failed or lost tasks
        </label>
        {shown.length !== jobs.length && <span className="muted">{shown.length} shown</span>}
        <span className="spacer" />
        <button onClick={onRefresh}>Refresh</button>
      </div>
      <DataTable
        aria-label="Runs history"
        data-testid="runs-history"
        columns={columns}
        rows={shown}
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
