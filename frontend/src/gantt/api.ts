// GET requests of the Gantt and metrics panels (session cookie auth).

import type { TimelineResponse, TaskEvent } from "./types";

export class HttpError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal });
  if (!response.ok) throw new HttpError(response.status, `${response.status} ${response.statusText} for ${url}`);
  return (await response.json()) as T;
}

export const jobUrl = (jobId: number) => `/api/v1/jobs/${jobId}/`;

export function fetchTimeline(
  jobId: number,
  query: { start?: number; end?: number; width: number; rows: number },
  signal?: AbortSignal,
): Promise<TimelineResponse> {
  const params = new URLSearchParams({ width: String(query.width), rows: String(query.rows) });
  if (query.start !== undefined && query.end !== undefined && query.end > query.start) {
    params.set("start", String(query.start));
    params.set("end", String(query.end));
  }
  return getJson<TimelineResponse>(`${jobUrl(jobId)}timeline/?${params}`, signal);
}

interface Page<T> {
  count: number;
  next: string | null;
  results: T[];
}

/** A task's current event (its ending one, or the running one while it runs). */
export async function fetchTask(jobId: number, key: string, phase: string | null): Promise<TaskEvent | null> {
  const params = new URLSearchParams({ key, current: "true", page_size: "5" });
  if (phase) params.set("phase", phase);
  const page = await getJson<Page<TaskEvent>>(`${jobUrl(jobId)}tasks/?${params}`);
  return page.results[page.results.length - 1] ?? null;
}

export interface JobSummary {
  id: number;
  state: string;
  finished_at: string | null;
}

export const fetchJob = (jobId: number, signal?: AbortSignal) => getJson<JobSummary>(jobUrl(jobId), signal);
