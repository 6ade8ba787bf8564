// Fetch client for /api/v1/: session cookie auth, CSRF header on unsafe methods, org selection header.

export class ApiError extends Error {
  status: number;
  id: string | null;
  body: unknown;
  constructor(status: number, message: string, id: string | null, body: unknown) {
    super(message);
    this.status = status;
    this.id = id;
    this.body = body;
  }
}

let currentOrg: string | null = localStorage.getItem("pyrun.org");

export function setOrg(slug: string | null): void {
  currentOrg = slug;
  if (slug) localStorage.setItem("pyrun.org", slug);
  else localStorage.removeItem("pyrun.org");
}

export function getOrg(): string | null {
  return currentOrg;
}

export function csrfToken(): string {
  const match = document.cookie.split(";").map((c) => c.trim()).find((c) => c.startsWith("csrftoken="));
  return match ? decodeURIComponent(match.slice("csrftoken=".length)) : "";
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export interface RequestOptions {
  method?: string;
  body?: BodyInit | object | null;
  headers?: Record<string, string>;
  raw?: boolean; // return the Response instead of parsed JSON
  signal?: AbortSignal;
}

function errorMessage(body: unknown, fallback: string): { message: string; id: string | null } {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    const err = b.error as Record<string, unknown> | undefined;
    if (err && typeof err === "object") return { message: String(err.message ?? fallback), id: (err.id as string) ?? null };
    if (typeof b.detail === "string") return { message: b.detail, id: null };
    const parts = Object.entries(b).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : JSON.stringify(v)}`);
    if (parts.length) return { message: parts.join("; "), id: null };
  }
  return { message: fallback, id: null };
}

export async function request<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = (options.method ?? "GET").toUpperCase();
  const headers: Record<string, string> = { Accept: "application/json", ...(options.headers ?? {}) };
  if (!SAFE.has(method)) headers["X-CSRFToken"] = csrfToken();
  if (currentOrg && !("X-PyRun-Org" in headers)) headers["X-PyRun-Org"] = currentOrg;
  let body: BodyInit | undefined;
  if (options.body instanceof FormData || options.body instanceof Blob || typeof options.body === "string") {
    body = options.body;
  } else if (options.body !== undefined && options.body !== null) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const url = path.startsWith("/") ? path : `/api/v1/${path}`;
  const response = await fetch(url, { method, headers, body, credentials: "same-origin", signal: options.signal });
  if (response.status === 401 || (response.status === 403 && response.redirected)) {
    window.location.href = `/login/?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
  }
  if (!response.ok && response.status !== 304) {
    let parsed: unknown = null;
    try {
      parsed = await response.json();
    } catch {
      /* not JSON */
    }
    const { message, id } = errorMessage(parsed, `${response.status} ${response.statusText}`);
    throw new ApiError(response.status, message, id, parsed);
  }
  if (options.raw) return response as unknown as T;
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** A list endpoint that may or may not be paginated. */
export async function list<T>(path: string): Promise<T[]> {
  const data = await request<Page<T> | T[]>(path);
  return Array.isArray(data) ? data : data.results;
}
