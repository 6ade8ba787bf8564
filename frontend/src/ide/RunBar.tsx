import type { Job } from "../api/types";
import { useBackendNames } from "../api/queries";
import { ACTIVE_STATES } from "../api/types";
import { TaskWarningBadge } from "./TaskCounts";
import { RunOptions } from "./RunOptions";
import type { RunOptionsState } from "./runOptions";

export interface RunBarProps {
  workspaceName: string;
  entrypoints: string[];
  entrypoint: string;
  backend: string;
  job: Job | null;
  readOnly: boolean;
  busy: boolean;
  onEntrypoint: (value: string) => void;
  onBackend: (value: string) => void;
  onRun: () => void;
  onCancel: (job: Job) => void;
  options?: RunOptionsState;
}

export function RunBar(props: RunBarProps) {
  const { job } = props;
  const active = job && ACTIVE_STATES.includes(job.state);
  const backends = useBackendNames();
  return (
    <div className="runbar" role="toolbar" aria-label="Run">
      <strong title="Workspace">{props.workspaceName}</strong>
      <label>
        Entrypoint
        <select
          aria-label="Entrypoint"
          value={props.entrypoint}
          onChange={(e) => props.onEntrypoint(e.target.value)}
        >
          {props.entrypoints.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>
      <label>
        Backend
        <select aria-label="Backend" value={props.backend} onChange={(e) => props.onBackend(e.target.value)}>
          <option value="">workspace default</option>
          {backends.map((b) => (
            <option key={b}>{b}</option>
          ))}
        </select>
      </label>
      <button
        className="primary"
        onClick={props.onRun}
        disabled={props.readOnly || props.busy || !props.entrypoint}
        title="Save all and run (Ctrl/Cmd+Enter)"
      >
        ▶ Run
      </button>
      {props.options && <RunOptions options={props.options} entrypoint={props.entrypoint} disabled={props.readOnly} />}
      {job && active && (
        <button className="danger" onClick={() => props.onCancel(job)}>
          ■ Cancel
        </button>
      )}
      {job && (
        <span aria-live="polite">
          Run #{job.id}: <span className={`state state-${job.state}`} data-testid="current-state">{job.state}</span>{" "}
          <TaskWarningBadge job={job} />
        </span>
      )}
    </div>
  );
}
