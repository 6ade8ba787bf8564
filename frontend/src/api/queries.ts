// The query layer: one key per resource, the queries that read them and the invalidations a write implies.
// Data shown on screen comes from here (TanStack Query caches and dedupes it); the live websocket streams of a
// run or a runtime build stay outside and patch the cached entries they update.
import { QueryClient, queryOptions, useMutation, useQuery, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { api } from "./endpoints";

/** Query keys, one family a resource: invalidating a prefix refreshes every query under it. */
export const keys = {
  workspaces: ["workspaces"] as const,
  workspace: (id: number) => ["workspaces", id] as const,
  tree: (id: number) => ["workspaces", id, "tree"] as const,
  config: (id: number) => ["workspaces", id, "config"] as const,
  preview: (id: number, path: string) => ["workspaces", id, "preview", path] as const,
  search: (id: number, q: string, caseSensitive: boolean) => ["workspaces", id, "search", { q, caseSensitive }] as const,
  templates: ["templates"] as const,
  backends: ["backends"] as const,
  jobs: (workspaceId: number) => ["jobs", { workspace: workspaceId }] as const,
  job: (id: number) => ["jobs", id] as const,
  // The Gantt and metrics panels read them once more when the run ends (`live` turns false).
  jobSummary: (id: number, live: boolean) => ["jobs", id, "summary", { live }] as const,
  jobMetrics: (id: number, live: boolean) => ["jobs", id, "metrics", { live }] as const,
  runtime: (id: number) => ["runtimes", id] as const,
  members: ["members"] as const,
  invitations: ["invitations"] as const,
  tokens: ["tokens"] as const,
  cloudAccounts: ["cloud-accounts"] as const,
  pipelines: ["pipelines"] as const,
};

export const queries = {
  workspaces: () => queryOptions({ queryKey: keys.workspaces, queryFn: api.workspaces }),
  workspace: (id: number) => queryOptions({ queryKey: keys.workspace(id), queryFn: () => api.workspace(id) }),
  tree: (id: number) => queryOptions({ queryKey: keys.tree(id), queryFn: () => api.tree(id) }),
  config: (id: number) => queryOptions({ queryKey: keys.config(id), queryFn: () => api.config(id) }),
  preview: (id: number, path: string, rows: number) =>
    queryOptions({ queryKey: [...keys.preview(id, path), rows], queryFn: () => api.preview(id, path, rows) }),
  search: (id: number, q: string, caseSensitive: boolean) =>
    queryOptions({
      queryKey: keys.search(id, q, caseSensitive),
      queryFn: () => api.search(id, q, caseSensitive),
      enabled: q.trim() !== "",
    }),
  templates: () => queryOptions({ queryKey: keys.templates, queryFn: api.templates }),
  backends: () => queryOptions({ queryKey: keys.backends, queryFn: api.backends }),
  runtime: (id: number) => queryOptions({ queryKey: keys.runtime(id), queryFn: () => api.runtime(id) }),
  members: () => queryOptions({ queryKey: keys.members, queryFn: api.members }),
  invitations: () => queryOptions({ queryKey: keys.invitations, queryFn: api.invitations }),
  tokens: () => queryOptions({ queryKey: keys.tokens, queryFn: api.tokens }),
  cloudAccounts: () => queryOptions({ queryKey: keys.cloudAccounts, queryFn: api.cloudAccounts }),
  pipelines: () => queryOptions({ queryKey: keys.pipelines, queryFn: api.pipelines }),
};

/** The names of the backends a run may use here (the server's one list; none while it loads). */
export function useBackendNames(): string[] {
  const { data = [] } = useQuery(queries.backends());
  return data.filter((backend) => !backend.error).map((backend) => backend.name);
}

/** Refreshes every query under these keys (what a mutation's onSuccess calls). */
export function invalidate(client: QueryClient, ...which: QueryKey[]): Promise<void> {
  return Promise.all(which.map((queryKey) => client.invalidateQueries({ queryKey }))).then(() => undefined);
}

/** A write whose success refreshes the queries it changes: `useApiMutation(api.revokeToken, () => [keys.tokens])`,
 * then `mutateAsync([tokenId])` (the write's arguments). Callers handle the error where they show it (a toast, a
 * form's banner). */
export function useApiMutation<A extends unknown[], R>(
  write: (...args: A) => Promise<R>,
  invalidates: (args: A, result: R) => QueryKey[],
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: A) => write(...args),
    onSuccess: (result, args) => invalidate(client, ...invalidates(args, result)),
  });
}

// Errors are shown as they come (no silent retries delaying them), and a page reads the server when it opens,
// not again each time the window regains focus (an editor tab is focused and left all day).
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: false, refetchOnWindowFocus: false, refetchOnReconnect: false },
      mutations: { retry: false },
    },
  });
}
