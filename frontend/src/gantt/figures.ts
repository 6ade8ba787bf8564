// The unit of each figure a task reports (the agent passes Lithops' call stats and a Dask task's nbytes as they
// come: monitoring/agent/pyrun_agent/lithops_hooks.py, dask_preload.py). One table, checked against where each
// figure is measured; a figure not in it is shown as it came, with no unit guessed from its name.

import { formatBytes, formatDuration } from "./scale";

export type FigureUnit = "seconds" | "bytes" | "count" | "timestamp";

export interface FigureKind {
  unit: FigureUnit;
  /** Shown after the value when the name alone would mislead (a machine-wide reading in a task's row). */
  scope?: string;
  /** What the number measures, in full (the row's title). */
  note?: string;
}

const MACHINE_CPU =
  "CPU time of the whole machine since it booted (Lithops reads psutil.cpu_times()), not of this task alone";
const MACHINE_NET =
  "bytes every process of the network namespace (here the job's sandbox, on Lambda the function's machine) sent " +
  "or received while the task ran (psutil.net_io_counters()), not this task's alone";

const MACHINE_CPU_SCOPE = { scope: "CPU, whole machine since boot", note: MACHINE_CPU };
const MACHINE_NET_SCOPE = { scope: "all processes", note: MACHINE_NET };

const UNITS: [FigureUnit, string[]][] = [
  // Lithops: durations measured with time.time() (CPU times from psutil), in seconds.
  ["seconds", [
    "worker_exec_time", "worker_func_exec_time", "worker_result_upload_time", "host_job_created_time",
    "host_job_serialize_time", "host_job_create_partitions_time", "host_func_upload_time", "host_data_upload_time",
    "worker_func_cpu_user_time", "worker_func_cpu_system_time",
  ]],
  // Lithops: epoch seconds.
  ["timestamp", [
    "worker_start_tstamp", "worker_end_tstamp", "worker_func_start_tstamp", "worker_func_end_tstamp",
    "host_submit_tstamp", "host_job_create_tstamp", "host_status_done_tstamp", "host_result_done_tstamp",
  ]],
  // Lithops: bytes (psutil's memory_full_info and net_io_counters, ru_maxrss × 1024 on Linux, pickled sizes);
  // Dask: nbytes, the size of the task's result.
  ["bytes", [
    "worker_func_rss", "worker_func_vms", "worker_func_uss", "worker_peak_memory_start", "worker_peak_memory_end",
    "func_result_size", "func_data_size_bytes", "func_module_size_bytes", "worker_func_sent_net_io",
    "worker_func_recv_net_io", "nbytes",
  ]],
  // Lithops: counts.
  ["count", [
    "host_status_query_count", "host_result_query_count", "worker_calls", "worker_processes", "worker_instances",
    "worker_create_retries",
  ]],
]; // prettier-ignore

// Where the name alone would mislead.
const NOTES: Record<string, Omit<FigureKind, "unit">> = {
  worker_func_cpu_user_time: MACHINE_CPU_SCOPE,
  worker_func_cpu_system_time: MACHINE_CPU_SCOPE,
  worker_func_sent_net_io: MACHINE_NET_SCOPE,
  worker_func_recv_net_io: MACHINE_NET_SCOPE,
  worker_peak_memory_start: { note: "the worker's peak memory before the function started" },
  worker_peak_memory_end: { note: "the worker's peak memory when the function ended" },
};

/** Every known figure → its unit (and what it measures, where the name would mislead). */
export const FIGURES: Record<string, FigureKind> = Object.fromEntries(
  UNITS.flatMap(([unit, names]) => names.map((name) => [name, { unit, ...NOTES[name] }])),
);

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** An epoch-seconds timestamp as the local time of day, to the millisecond. */
export function timeOfDay(epochSeconds: number): string {
  const at = new Date(epochSeconds * 1000);
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
}

/** The kind of a known figure (own keys only: a figure named "constructor" is no known one). */
export function figureKind(name: string): FigureKind | undefined {
  return Object.prototype.hasOwnProperty.call(FIGURES, name) ? FIGURES[name] : undefined;
}

/** A figure as the detail panel shows it: with its unit when it is a known one, else as it came. */
export function formatFigure(name: string, value: unknown): string {
  const kind = figureKind(name);
  if (typeof value !== "number" || !Number.isFinite(value) || !kind) return String(value);
  const shown = {
    seconds: formatDuration,
    bytes: formatBytes,
    timestamp: timeOfDay,
    count: (n: number) => n.toLocaleString("en-US"),
  }[kind.unit](value);
  return kind.scope ? `${shown} (${kind.scope})` : shown;
}
