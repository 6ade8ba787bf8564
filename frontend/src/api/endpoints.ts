// Typed wrappers of the REST endpoints the IDE uses.
import { list, request, type Page } from "./client";
import type {
  ApiToken,
  Backend,
  CloudAccount,
  Entry,
  ExecutionSettings,
  Invitation,
  Job,
  LogPage,
  Me,
  Member,
  Org,
  Pipeline,
  Runtime,
  RuntimeLogLine,
  SearchResult,
  TablePreview,
  Template,
  Tree,
  Workspace,
} from "./types";

export const RUNS_PAGE = 100;

export const encodePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

export const api = {
  me: () => request<Me>("me/"),
  orgs: () => list<Org>("orgs/"),
  selectOrg: (id: number) => request<Org>(`orgs/${id}/select/`, { method: "POST" }),
  createOrg: (name: string) => request<Org>("orgs/", { method: "POST", body: { name } }),

  templates: () => list<Template>("templates/"),
  backends: () => list<Backend>("backends/"),
  workspaces: () => list<Workspace>("workspaces/?ordering=-updated_at&page_size=500"),
  workspace: (id: number) => request<Workspace>(`workspaces/${id}/`),
  createWorkspace: (name: string, template: string) =>
    request<Workspace>("workspaces/", { method: "POST", body: { name, template } }),
  renameWorkspace: (id: number, name: string) =>
    request<Workspace>(`workspaces/${id}/`, { method: "PATCH", body: { name } }),
  deleteWorkspace: (id: number) => request<void>(`workspaces/${id}/`, { method: "DELETE" }),

  tree: (id: number) => request<Tree>(`workspaces/${id}/files/`),
  async readFile(id: number, path: string): Promise<{ text: string; etag: string | null }> {
    const response = await request<Response>(`workspaces/${id}/files/${encodePath(path)}`, {
      raw: true,
      headers: { Accept: "*/*" },
    });
    return { text: await response.text(), etag: response.headers.get("ETag") };
  },
  /** The raw file as bytes (images, PDFs, anything not known to be text), with its ETag. */
  async readFileBlob(id: number, path: string): Promise<{ blob: Blob; etag: string | null }> {
    const response = await request<Response>(`workspaces/${id}/files/${encodePath(path)}`, {
      raw: true,
      headers: { Accept: "*/*" },
    });
    return { blob: await response.blob(), etag: response.headers.get("ETag") };
  },
  preview: (id: number, path: string, rows: number) =>
    request<TablePreview>(`workspaces/${id}/preview/${encodePath(path)}?rows=${rows}`),
  async writeFile(
    id: number,
    path: string,
    text: string | Blob,
    opts: { ifMatch?: string | null; createOnly?: boolean } = {},
  ): Promise<{ entry: Entry; etag: string | null }> {
    const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
    if (opts.ifMatch) headers["If-Match"] = opts.ifMatch;
    if (opts.createOnly) headers["If-None-Match"] = "*";
    const response = await request<Response>(`workspaces/${id}/files/${encodePath(path)}`, {
      method: "PUT",
      body: typeof text === "string" ? new Blob([text]) : text,
      headers,
      raw: true,
    });
    return { entry: (await response.json()) as Entry, etag: response.headers.get("ETag") };
  },
  mkdir: (id: number, path: string) =>
    request<Entry>(`workspaces/${id}/files/${encodePath(path)}?op=mkdir`, { method: "POST" }),
  deletePath: (id: number, path: string) =>
    request<void>(`workspaces/${id}/files/${encodePath(path)}`, { method: "DELETE" }),
  move: (id: number, from: string, to: string) =>
    request<Entry>(`workspaces/${id}/move/`, { method: "POST", body: { from, to } }),
  upload(id: number, folder: string, files: File[]) {
    const form = new FormData();
    form.append("path", folder);
    for (const file of files) form.append(file.name.toLowerCase().endsWith(".zip") ? "archives" : "files", file);
    return request<Entry[]>(`workspaces/${id}/upload/`, { method: "POST", body: form });
  },
  search: (id: number, q: string, caseSensitive = false) =>
    request<SearchResult>(
      `workspaces/${id}/search/?q=${encodeURIComponent(q)}${caseSensitive ? "&case_sensitive=true" : ""}`,
    ),
  archiveUrl: (id: number, path = "") => `/api/v1/workspaces/${id}/archive/${path ? `?path=${encodeURIComponent(path)}` : ""}`,
  fileUrl: (id: number, path: string) => `/api/v1/workspaces/${id}/files/${encodePath(path)}`,

  config: (id: number) => request<ExecutionSettings>(`workspaces/${id}/config/`),
  saveConfig: (id: number, settings: Partial<ExecutionSettings>) =>
    request<ExecutionSettings>(`workspaces/${id}/config/`, { method: "PUT", body: settings }),
  ensureRuntime: (id: number) => request<Runtime>(`workspaces/${id}/runtime/`, { method: "POST" }),

  run: (id: number, entrypoint: string, backend?: string | null, args: string[] = []) =>
    request<Job>(`workspaces/${id}/runs/`, { method: "POST", body: { entrypoint, backend: backend || null, args } }),
  // Newest first, RUNS_PAGE at a time.
  jobs: (workspace: number, page = 1) =>
    request<Page<Job>>(`jobs/?workspace=${workspace}&ordering=-created_at&page_size=${RUNS_PAGE}&page=${page}`),
  job: (id: number) => request<Job>(`jobs/${id}/`),
  logs: (id: number, after: number, limit = 5000) => request<LogPage>(`jobs/${id}/logs/?after=${after}&limit=${limit}`),
  cancel: (id: number) => request<Job>(`jobs/${id}/cancel/`, { method: "POST" }),
  rerun: (id: number) => request<Job>(`jobs/${id}/rerun/`, { method: "POST" }),

  runtime: (id: number) => request<Runtime>(`runtimes/${id}/`),
  runtimeLog: (id: number, after = 0) =>
    request<{ lines: RuntimeLogLine[]; next_after: number; more: boolean; state: string }>(
      `runtimes/${id}/log/?after=${after}`,
    ),
  rebuildRuntime: (id: number) => request<Runtime>(`runtimes/${id}/rebuild/`, { method: "POST" }),

  members: () => list<Member>("members/?page_size=500"),
  changeRole: (id: number, role: string) => request<Member>(`members/${id}/`, { method: "PATCH", body: { role } }),
  removeMember: (id: number) => request<void>(`members/${id}/`, { method: "DELETE" }),
  // Adding a member is an invitation: the invitee sets their own password (or accepts while logged in).
  invitations: () => list<Invitation>("invitations/?page_size=500"),
  invite: (email: string, role: string) =>
    request<Invitation>("invitations/", { method: "POST", body: { email, role } }),
  revokeInvitation: (id: number) => request<void>(`invitations/${id}/`, { method: "DELETE" }),

  tokens: () => list<ApiToken>("tokens/?page_size=500"),
  createToken: (name: string, expires_in_days?: number) =>
    request<ApiToken>("tokens/", { method: "POST", body: expires_in_days ? { name, expires_in_days } : { name } }),
  revokeToken: (id: number) => request<void>(`tokens/${id}/`, { method: "DELETE" }),

  cloudAccounts: () => list<CloudAccount>("cloud-accounts/"),
  saveCloudAccount: (id: number | null, body: Record<string, string>) =>
    id
      ? request<CloudAccount>(`cloud-accounts/${id}/`, { method: "PATCH", body })
      : request<CloudAccount>("cloud-accounts/", { method: "POST", body }),
  deleteCloudAccount: (id: number) => request<void>(`cloud-accounts/${id}/`, { method: "DELETE" }),

  pipelines: () => list<Pipeline>("pipelines/"),
  launchPipeline: (slug: string, body: { name?: string; parameters?: Record<string, unknown>; backend?: string }) =>
    request<{ workspace: Workspace; job: Job }>(`pipelines/${slug}/launch/`, { method: "POST", body }),
};
