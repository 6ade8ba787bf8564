// Time ↔ pixel mapping of the plot, zoom/pan arithmetic and nice ticks for the time axis.

export interface Viewport {
  start: number; // epoch seconds at the left edge of the plot
  end: number; // epoch seconds at the right edge
}

export const MIN_VIEW_SPAN = 1e-4; // seconds: zooming in stops at 100 µs across the plot

export function toX(t: number, view: Viewport, width: number): number {
  return ((t - view.start) / (view.end - view.start)) * width;
}

export function toT(x: number, view: Viewport, width: number): number {
  return view.start + (x / width) * (view.end - view.start);
}

/** Zoom by `factor` (> 1 zooms in) keeping time `at` under the same pixel; bounded by `limits` (the data's
 * extent with a margin) so the user cannot get lost far away from the tasks. */
export function zoomAround(view: Viewport, at: number, factor: number, limits?: Viewport): Viewport {
  const span = view.end - view.start;
  let next = Math.max(MIN_VIEW_SPAN, span / factor);
  if (limits) next = Math.min(next, limits.end - limits.start);
  const ratio = span > 0 ? (at - view.start) / span : 0.5;
  const start = at - ratio * next;
  return clampView({ start, end: start + next }, limits);
}

export function pan(view: Viewport, seconds: number, limits?: Viewport): Viewport {
  return clampView({ start: view.start + seconds, end: view.end + seconds }, limits);
}

export function clampView(view: Viewport, limits?: Viewport): Viewport {
  if (!limits) return view;
  const span = Math.min(view.end - view.start, limits.end - limits.start);
  let start = Math.max(limits.start, Math.min(view.start, limits.end - span));
  if (!Number.isFinite(start)) start = limits.start;
  return { start, end: start + span };
}

/** The whole data extent with a small margin on both sides: the reset view and the zoom-out limit. */
export function fitView(first: number, last: number, marginFraction = 0.02): Viewport {
  if (!Number.isFinite(first) || !Number.isFinite(last)) {
    const now = Date.now() / 1000;
    return { start: now - 10, end: now };
  }
  const span = Math.max(last - first, 1e-3);
  return { start: first - span * marginFraction, end: last + span * marginFraction };
}

const STEPS = [
  1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900,
  1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

/** A tick step for a window of `span` seconds so that ticks are at least `minPx` apart on `width` pixels. */
export function tickStep(span: number, width: number, minPx = 80): number {
  const wanted = (span * minPx) / Math.max(1, width);
  for (const step of STEPS) if (step >= wanted) return step;
  return Math.ceil(wanted / 86400) * 86400;
}

/** Ticks at multiples of a nice step from `origin` (the job's first task: labels read "+1 m 30 s"). */
export function niceTicks(view: Viewport, width: number, origin: number, minPx = 80): { step: number; ticks: number[] } {
  const step = tickStep(view.end - view.start, width, minPx);
  const first = Math.ceil((view.start - origin) / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; ; k++) {
    const t = origin + k * step;
    if (t > view.end + 1e-9 * step) break;
    ticks.push(t);
    if (ticks.length > 1000) break;
  }
  return { step, ticks };
}

/** A duration for people: 12 ms, 1.52 s, 3 m 05 s, 2 h 10 m. */
export function formatDuration(seconds: number | null | undefined, step?: number): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const sign = seconds < 0 ? "-" : "";
  const s = Math.abs(seconds);
  if (s === 0) return "0 s";
  const precision = step !== undefined ? step : s;
  if (s < 1 && precision < 1) {
    if (precision < 1e-3 || s < 1e-3) return `${sign}${(s * 1e6).toFixed(0)} µs`;
    const digits = precision < 0.01 ? 1 : 0;
    return `${sign}${(s * 1000).toFixed(digits)} ms`;
  }
  if (s < 60) {
    const digits = precision >= 1 ? 0 : precision >= 0.1 ? 1 : 2;
    return `${sign}${s.toFixed(step !== undefined ? digits : s < 10 ? 2 : 1)} s`;
  }
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = Math.round(s - m * 60);
    return `${sign}${m} m ${String(rest).padStart(2, "0")} s`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.round((s - h * 3600) / 60);
  return `${sign}${h} h ${String(m).padStart(2, "0")} m`;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}
