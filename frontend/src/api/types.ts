export type JobState = "queued" | "preparing" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out";
export type RuntimeState = "pending" | "building" | "ready" | "failed";
export type Role = "owner" | "admin" | "member" | "viewer";

export const ACTIVE_STATES: JobState[] = ["queued", "preparing", "running"];

export interface Org {
  id: number;
  name: string;
  slug: string;
  role: Role | null;
  created_at: string;
}

export interface Me {
  user: { id: number; email: string };
  org: Org;
  role: Role;
  auth: "token" | "session";
}

export interface Workspace {
  id: number;
  name: string;
  slug: string;
  template: string;
  size: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  runtime: { id: number; state: RuntimeState; error: { id: string; message: string } | null } | null;
  runtime_status: "none" | "building" | "ready" | "failed" | "outdated";
}

export interface Template {
  slug: string;
  name: string;
  description: string;
  entrypoint: string | null;
  files: string[];
}

export interface Entry {
  path: string;
  name: string;
  type: "file" | "dir" | "symlink" | "other";
  size: number;
  mtime: string;
  etag: string | null;
}

export interface Tree {
  path: string;
  size: number;
  truncated: boolean;
  entries: Entry[];
}

/** The first rows of a CSV, TSV or Parquet file (GET /api/v1/workspaces/{id}/preview/{path}). */
export interface TablePreview {
  format: "csv" | "tsv" | "parquet";
  columns: { name: string; type: string }[];
  rows: (string | number | boolean | null)[][];
  total_rows: number | null; // null: too large to count
  truncated: boolean; // more rows or columns than shown
}

export interface Job {
  id: number;
  workspace: number;
  entrypoint: string;
  args: string[];
  backend: string;
  state: JobState;
  exit_code: number | null;
  error: { id: string; message: string } | null;
  runtime: number | null;
  rerun_of: number | null;
  created_by: string | null;
  cancel_requested: boolean;
  created_at: string;
  started_at: string | null;
  running_at: string | null;
  finished_at: string | null;
  duration_seconds: number | null;
  log_lines: number;
  log_bytes: number;
  // Known once the job's processes ended (null before, or when it reported no tasks).
  tasks_total?: number | null;
  tasks_failed?: number | null;
  tasks_lost?: number | null;
}

export interface LogChunk {
  seq: number;
  stream: "stdout" | "stderr" | "system" | "task"; // task: what a job's tasks printed, "[task M000/3] …"
  text: string;
  created_at?: string;
}

/** GET /api/v1/workspaces/{id}/search/?q= (workspaces/search.py). */
export interface SearchMatch {
  path: string;
  line: number;
  column: number;
  text: string;
  match_start: number;
  match_end: number;
}

export interface SearchResult {
  query: string;
  case_sensitive: boolean;
  results: SearchMatch[];
  truncated: boolean;
  partial: boolean;
  files_searched: number;
  files_skipped: number;
}

export interface LogPage {
  chunks: LogChunk[];
  next_after: number;
  state: JobState;
  complete: boolean;
}

export interface Runtime {
  id: number;
  state: RuntimeState;
  kind: string;
  builder: string;
  target: string;
  spec_hash: string;
  python_version: string | null;
  size_bytes: number | null;
  // The step the last build reached ("" before any): resolve, download, install, compile, publish, done.
  build_phase?: string;
  error: { id: string; message: string } | null;
  timings: {
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
    last_used_at: string | null;
    build_seconds: number | null;
  };
  [key: string]: unknown;
}

export interface RuntimeLogLine {
  seq: number;
  text: string;
  created_at?: string;
}

export interface ExecutionSettings {
  default_executor: string;
  backend: string;
  storage: string;
  runtime_memory: number;
  runtime_timeout: number;
  workers: number | null;
  log_level: string;
  storage_bucket: string;
  lambda_execution_role: string;
  dask_scheduler_address: string;
}

export interface Member {
  id: number;
  user: { id: number; email: string };
  role: Role;
  created_at: string;
}

// A pending invitation; accept_url (absolute) is only in the create response, shown once to the inviter.
export interface Invitation {
  id: number;
  email: string;
  role: Role;
  invited_by: { id: number; email: string } | null;
  created_at: string;
  expires_at: string;
  accept_url?: string;
}

export interface ApiToken {
  id: number;
  name: string;
  display: string;
  user: { id: number; email: string };
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  is_active: boolean;
  key?: string;
}

export interface CloudAccount {
  id: number;
  name: string;
  provider: string;
  auth_type: string;
  region: string;
  bucket: string;
  role_arn: string;
  // The org's external id, owned by the platform and sent with every AssumeRole; read-only.
  external_id: string;
  // The trust relationship to paste into the AWS role, and what to do with it.
  trust_policy: Record<string, unknown>;
  trust_policy_note: string;
  access_key_hint: string;
  has_secret: boolean;
  created_at: string;
  updated_at: string;
}

export interface PipelineParameter {
  name: string;
  type: string;
  default: unknown;
  help: string;
  min?: number | null;
  max?: number | null;
  choices?: string[] | null;
}

export interface Pipeline {
  slug: string;
  title: string;
  description: string;
  framework: string;
  backend: string;
  backends?: string[]; // the backends a launch accepts
  expected_seconds: number;
  parameters: PipelineParameter[];
  entrypoint: string;
}

/** An executor backend a run may ask for (GET /api/v1/backends/): the built-in ones and the operator's. */
export interface Backend {
  name: string;
  builtin: boolean;
  target: string | null; // the runtime it runs on; null when it cannot be loaded on this platform
  error: string; // why it cannot be used; empty when it can
}
