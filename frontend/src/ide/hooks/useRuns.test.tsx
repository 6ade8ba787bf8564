import type { Job } from "../../api/types";
import { perform, renderHook, settle } from "../../testing/render";
import { useRuns, useWhenRunsEnd } from "./useRuns";

function job(id: number, state: Job["state"] = "succeeded"): Job {
  return {
    id,
    workspace: 7,
    entrypoint: "main.py",
    args: [],
    backend: "local",
    state,
    exit_code: null,
    error: null,
    runtime: null,
    rerun_of: null,
    created_by: "a@example.com",
    cancel_requested: false,
    created_at: "2026-01-01T00:00:00Z",
    started_at: null,
    running_at: null,
    finished_at: null,
    duration_seconds: null,
    log_lines: 0,
    log_bytes: 0,
  };
}

// The jobs endpoint as the server pages it: `pages[n - 1]` for ?page=n, `count` runs in all.
function server(pages: Job[][], count: number) {
  const calls: string[] = [];
  const fetch = vi.fn(async (url: string) => {
    calls.push(url);
    if (url.includes("/jobs/") && url.includes("?workspace=")) {
      const page = Number(new URL(url, "http://x").searchParams.get("page"));
      const body = { count, next: page < pages.length ? `?page=${page + 1}` : null, previous: null, results: pages[page - 1] };
      return new Response(JSON.stringify(body), { status: 200 });
    }
    const id = Number(url.match(/jobs\/(\d+)\//)?.[1]);
    return new Response(JSON.stringify({ ...job(id), duration_seconds: 4.5 }), { status: 200 });
  });
  vi.stubGlobal("fetch", fetch);
  return calls;
}

const ids = (jobs: Job[]) => jobs.map((j) => j.id);

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

describe("useRuns", () => {
  it("reads the newest page, then older ones on demand without repeating a run", async () => {
    const calls = server([[job(5), job(4)], [job(4), job(3)]], 4);
    const runs = await renderHook(() => useRuns(7));
    await settle();
    expect(ids(runs.current().jobs)).toEqual([5, 4]);
    expect(runs.current().total).toBe(4);
    expect(calls[0]).toContain("/api/v1/jobs/?workspace=7&ordering=-created_at");

    await perform(() => runs.current().loadOlder());
    // Run 4 came again on the second page (a run started meanwhile shifted the pages).
    expect(ids(runs.current().jobs)).toEqual([5, 4, 3]);
    runs.unmount();
  });

  it("puts a run just started first and counts it", async () => {
    server([[job(5)]], 1);
    const runs = await renderHook(() => useRuns(7));
    await settle();
    await perform(() => runs.current().addJob(job(6, "queued")));
    expect(ids(runs.current().jobs)).toEqual([6, 5]);
    expect(runs.current().total).toBe(2);
    runs.unmount();
  });

  it("patches a run's state from the socket and reads it again once it ended", async () => {
    server([[job(5, "running")]], 1);
    const runs = await renderHook(() => useRuns(7));
    await settle();
    expect(runs.current().jobs[0].state).toBe("running");

    await perform(() => runs.current().patchJob(5, { state: "succeeded", exit_code: 0 }));
    expect(runs.current().jobs[0]).toMatchObject({ state: "succeeded", exit_code: 0, duration_seconds: null });
    // The final figures (the duration) come from the job itself a moment later.
    await settle(500);
    expect(runs.current().jobs[0].duration_seconds).toBe(4.5);
    runs.unmount();
  });

  it("says when a run seen in flight has ended, once, and not for runs that had ended before", async () => {
    server([[job(5, "running"), job(4)]], 2);
    const ended = vi.fn();
    const runs = await renderHook(() => {
      const value = useRuns(7);
      useWhenRunsEnd(value.jobs, ended);
      return value;
    });
    await settle();
    expect(ended).not.toHaveBeenCalled();
    await perform(() => runs.current().addJob(job(6, "queued")));
    expect(ended).not.toHaveBeenCalled();

    await perform(() => runs.current().patchJob(5, { state: "succeeded", exit_code: 0 }));
    expect(ended).toHaveBeenCalledTimes(1);
    await perform(() => runs.current().patchJob(6, { state: "running" }));
    await perform(() => runs.current().patchJob(5, { exit_code: 0 }));
    expect(ended).toHaveBeenCalledTimes(1);
    await perform(() => runs.current().patchJob(6, { state: "failed", exit_code: 1 }));
    expect(ended).toHaveBeenCalledTimes(2);
    runs.unmount();
  });
});
