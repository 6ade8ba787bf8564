// The workspace's history of runs: the newest page, older pages on demand, polled while a run is in flight.
// The output socket patches the run being watched in the cache; a run started here is put first at once.
import { useInfiniteQuery, useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef } from "react";
import type { Page } from "../../api/client";
import { api } from "../../api/endpoints";
import { keys } from "../../api/queries";
import type { Job } from "../../api/types";
import { ACTIVE_STATES } from "../../api/types";

type Runs = InfiniteData<Page<Job>, number>;

const anyActive = (data: Runs | undefined) =>
  !!data?.pages.some((page) => page.results.some((j) => ACTIVE_STATES.includes(j.state)));

export function useRuns(workspaceId: number) {
  const client = useQueryClient();
  const key = useMemo(() => keys.jobs(workspaceId), [workspaceId]);
  const query = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam }) => api.jobs(workspaceId, pageParam),
    initialPageParam: 1,
    getNextPageParam: (last, pages) => (last.next ? pages.length + 1 : undefined),
    refetchInterval: (q) => (anyActive(q.state.data) ? 2000 : false),
  });

  // Runs started meanwhile shift the pages: a run can come twice, keep its first (newest) copy.
  const jobs = useMemo(() => {
    const seen = new Set<number>();
    return (query.data?.pages ?? []).flatMap((page) => page.results).filter((j) => !seen.has(j.id) && !!seen.add(j.id));
  }, [query.data]);
  const total = query.data ? Math.max(...query.data.pages.map((page) => page.count)) : 0;

  const update = useCallback(
    (change: (pages: Page<Job>[]) => Page<Job>[]) =>
      client.setQueryData<Runs>(key, (data) => (data ? { ...data, pages: change(data.pages) } : data)),
    [client, key],
  );
  const replace = useCallback(
    (jobId: number, make: (job: Job) => Job) =>
      update((pages) =>
        pages.map((page) => ({ ...page, results: page.results.map((j) => (j.id === jobId ? make(j) : j)) })),
      ),
    [update],
  );

  /** A state change from the socket; once the run ended, its final figures (duration…) are read again. */
  const patchJob = useCallback(
    (jobId: number, patch: Partial<Job>) => {
      replace(jobId, (j) => ({ ...j, ...patch }));
      if (patch.state && !ACTIVE_STATES.includes(patch.state))
        setTimeout(() => api.job(jobId).then((fresh) => replace(jobId, () => fresh), () => undefined), 300);
    },
    [replace],
  );

  /** A run just started: first in the list. */
  const addJob = useCallback(
    (created: Job) =>
      update((pages) =>
        pages.map((page, index) =>
          index === 0
            ? { ...page, count: page.count + 1, results: [created, ...page.results.filter((j) => j.id !== created.id)] }
            : page,
        ),
      ),
    [update],
  );

  const { fetchNextPage, refetch } = query;
  const loadOlder = useCallback(async () => {
    const result = await fetchNextPage();
    if (result.isFetchNextPageError) throw result.error;
  }, [fetchNextPage]);
  const refresh = useCallback(() => void refetch(), [refetch]);

  return { jobs, total, loadOlder, refresh, patchJob, addJob };
}

/** Calls `onEnded` when a run seen in flight here is seen ended (by its socket or the poll): what it wrote into the
 * workspace (its script's files, a pipeline's results/, copied before the end is visible) is there by then. */
export function useWhenRunsEnd(jobs: readonly Job[], onEnded: () => void): void {
  const inFlight = useRef<ReadonlySet<number>>(new Set());
  const callback = useRef(onEnded);
  callback.current = onEnded;
  useEffect(() => {
    let ended = false;
    const now = new Set<number>();
    for (const job of jobs) {
      if (ACTIVE_STATES.includes(job.state)) now.add(job.id);
      else if (inFlight.current.has(job.id)) ended = true;
    }
    inFlight.current = now;
    if (ended) callback.current();
  }, [jobs]);
}
