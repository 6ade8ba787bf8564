// Synthetic task events for tests and the render bench: `tasks` tasks on `lanes` lanes, packed back to back
// on each lane with small gaps, a few failures, optionally the last ones still running.

import type { TaskEvent } from "./types";

export interface SyntheticOptions {
  tasks: number;
  lanes: number;
  origin?: number; // epoch seconds of the first start
  meanDuration?: number; // seconds
  failEvery?: number; // every n-th task fails (0: none)
  running?: number; // the last n tasks have only their running event
  seed?: number;
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticEvents(opts: SyntheticOptions): TaskEvent[] {
  const origin = opts.origin ?? 1_700_000_000;
  const mean = opts.meanDuration ?? 0.5;
  const random = rng(opts.seed ?? 1);
  const laneTime = new Float64Array(opts.lanes).fill(origin);
  const events: TaskEvent[] = [];
  const runningFrom = opts.tasks - (opts.running ?? 0);
  for (let k = 0; k < opts.tasks; k++) {
    const lane = k % opts.lanes;
    const start = laneTime[lane] + random() * mean * 0.1;
    // A long tail: most tasks near the mean, a few stragglers.
    const duration = mean * (0.5 + random()) * (random() < 0.002 ? 8 : 1);
    laneTime[lane] = start + duration;
    const failed = opts.failEvery ? k % opts.failEvery === opts.failEvery - 1 : false;
    const running = k >= runningFrom;
    events.push({
      seq: k + 1,
      framework: "lithops",
      group: `bench-0/M00${Math.floor(k / 25000)}`,
      key: `bench-0/M00${Math.floor(k / 25000)}/${String(k).padStart(5, "0")}`,
      phase: "task",
      status: running ? "running" : failed ? "failed" : "finished",
      lane: `pid ${1000 + lane}`,
      start,
      end: running ? null : start + duration,
      error: failed ? `Traceback (most recent call last):\n  ...\nValueError: task ${k} failed` : "",
      figures: running
        ? {}
        : { worker_func_cpu_usage: 50 + random() * 50, worker_peak_memory_end: 40e6 + random() * 1e7, worker_cold_start: k < opts.lanes },
    });
  }
  return events;
}
