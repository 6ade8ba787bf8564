// Small chart helpers of the metrics tab: the series they draw (pure, tested) and canvas drawing of a line/area
// chart and a histogram, coloured from the app's theme.

import { formatDuration } from "../gantt/scale";
import type { Theme } from "../gantt/theme";

export interface Point {
  t: number;
  v: number;
}

/** Tasks running over time: the mean number of tasks open in each of `buckets` equal slices of [t0, t1]
 * (time-weighted, so the area is the task-seconds). Exact: a sweep over starts and ends. */
export function concurrency(
  starts: ArrayLike<number>,
  ends: ArrayLike<number>,
  count: number,
  t0: number,
  t1: number,
  buckets: number,
): Point[] {
  const span = Math.max(t1 - t0, 1e-9);
  const width = span / buckets;
  const area = new Float64Array(buckets);
  // Each task adds its overlap with every bucket it crosses: O(tasks + buckets) with a difference array of
  // slopes would be exact too; tasks cross few buckets, so do it directly.
  for (let i = 0; i < count; i++) {
    const a = Math.max(starts[i], t0);
    const b = Math.min(ends[i], t1);
    if (!(b > a)) continue;
    let k = Math.min(buckets - 1, Math.floor((a - t0) / width));
    while (k < buckets) {
      const lo = t0 + k * width;
      const hi = lo + width;
      area[k] += Math.min(b, hi) - Math.max(a, lo);
      if (b <= hi) break;
      k++;
    }
  }
  return Array.from(area, (value, k) => ({ t: t0 + (k + 0.5) * width, v: value / width }));
}

/** Concurrency from the server's timeline bars (one row per lane, a lane runs one task at a time): the number
 * of rows busy at each bucket. Where lanes share a row (more lanes than rows) a bar counts for at most the
 * row's lanes and its tasks. */
export function concurrencyFromBars(
  bars: { row: number; start: number; end: number; count: number }[],
  lanesPerRow: number[],
  t0: number,
  t1: number,
  buckets: number,
): Point[] {
  const starts = new Float64Array(bars.length);
  const ends = new Float64Array(bars.length);
  const weight = new Float64Array(bars.length);
  bars.forEach((bar, i) => {
    starts[i] = bar.start;
    ends[i] = bar.end;
    weight[i] = Math.max(1, Math.min(bar.count, lanesPerRow[bar.row] ?? 1));
  });
  const span = Math.max(t1 - t0, 1e-9);
  const width = span / buckets;
  const area = new Float64Array(buckets);
  for (let i = 0; i < bars.length; i++) {
    const a = Math.max(starts[i], t0);
    const b = Math.min(ends[i], t1);
    if (!(b > a)) continue;
    for (let k = Math.min(buckets - 1, Math.floor((a - t0) / width)); k < buckets; k++) {
      const lo = t0 + k * width;
      const hi = lo + width;
      area[k] += (Math.min(b, hi) - Math.max(a, lo)) * weight[i];
      if (b <= hi) break;
    }
  }
  return Array.from(area, (value, k) => ({ t: t0 + (k + 0.5) * width, v: value / width }));
}

export interface Histogram {
  edges: number[]; // bins + 1 edges
  counts: number[];
}

/** Equal-width bins over [min, max] of `values` (the last bin includes max). */
export function histogram(values: ArrayLike<number>, bins: number): Histogram {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  if (!values.length) return { edges: [], counts: [] };
  if (max === min) max = min + 1e-3;
  const width = (max - min) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) counts[Math.min(bins - 1, Math.floor((values[i] - min) / width))]++;
  return { edges: Array.from({ length: bins + 1 }, (_, k) => min + k * width), counts };
}

/** A histogram from sorted samples of the distribution: `(rank, value)` pairs of a sorted list of `total`
 * values (rank 0 the smallest, total − 1 the largest). Counts are the ranks interpolated at each edge, so they
 * add up to `total` and are exact when every value is given. */
export function histogramFromRanks(samples: [number, number][], total: number, bins: number): Histogram {
  if (!samples.length || !total) return { edges: [], counts: [] };
  const sorted = [...samples].sort((a, b) => a[0] - b[0]);
  const min = sorted[0][1];
  let max = sorted[sorted.length - 1][1];
  if (max === min) max = min + 1e-3;
  const width = (max - min) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, k) => min + k * width);
  // Values below x: interpolate the rank where the value crosses x.
  const below = (x: number): number => {
    if (x <= min) return 0;
    if (x > sorted[sorted.length - 1][1]) return total;
    let j = 0;
    while (j < sorted.length && sorted[j][1] < x) j++;
    if (j === 0) return 0;
    if (j === sorted.length) return total;
    const [r0, v0] = sorted[j - 1];
    const [r1, v1] = sorted[j];
    if (v1 === v0) return r1;
    return r0 + 1 + ((x - v0) / (v1 - v0)) * (r1 - r0 - 1);
  };
  const counts: number[] = [];
  for (let k = 0; k < bins; k++) {
    const upper = k === bins - 1 ? total : below(edges[k + 1]);
    counts.push(Math.max(0, upper - below(edges[k])));
  }
  return { edges, counts };
}

// --- Drawing ------------------------------------------------------------------------------------------------

export interface ChartSize {
  width: number;
  height: number;
}

const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";
const PAD = { left: 56, right: 10, top: 10, bottom: 22 };

/** Prepare a canvas for CSS size `size` at the device pixel ratio; returns its context. */
export function setupCanvas(canvas: HTMLCanvasElement, size: ChartSize, theme: Theme): CanvasRenderingContext2D | null {
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  canvas.width = Math.round(size.width * dpr);
  canvas.height = Math.round(size.height * dpr);
  canvas.style.width = `${size.width}px`;
  canvas.style.height = `${size.height}px`;
  const ctx = canvas.getContext("2d");
  if (!ctx) return null;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = theme.bg;
  ctx.fillRect(0, 0, size.width, size.height);
  ctx.font = FONT;
  return ctx;
}

/** A nice upper bound for an axis (1, 2, 2.5, 5 × 10^k). */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= value) return m * power;
  return 10 * power;
}

/** Grid values for an axis of counts up to `max`: whole numbers only (a count of 1.5 tasks means nothing),
 * at most five lines, 0 first, the last at or above `max`. Histogram counts interpolated from ranks may be
 * fractional: the axis still is not. */
export function countTicks(max: number): number[] {
  const top = Math.max(1, Math.ceil(max - 1e-9));
  let step = 1;
  for (let power = 1; top / step > 4; power *= 10) {
    step = [1, 2, 5, 10].map((m) => m * power).find((s) => top / s <= 4) ?? 10 * power;
  }
  const ticks: number[] = [];
  for (let value = 0; ticks.length === 0 || ticks[ticks.length - 1] < top; value += step) ticks.push(value);
  return ticks;
}

export interface LineSeries {
  points: Point[];
  colour: string;
  fill?: boolean;
}

export function drawLineChart(
  ctx: CanvasRenderingContext2D,
  size: ChartSize,
  theme: Theme,
  series: LineSeries[],
  opts: { t0: number; t1: number; yFormat: (v: number) => string; yMax?: number; empty?: string; integer?: boolean },
): void {
  const w = size.width - PAD.left - PAD.right;
  const h = size.height - PAD.top - PAD.bottom;
  let top = opts.yMax ?? 0;
  for (const s of series) for (const p of s.points) top = Math.max(top, p.v);
  // Counts get whole-number grid lines (there are four steps).
  top = opts.integer ? Math.max(4, Math.ceil(top / 4) * 4) : niceMax(top);
  const span = Math.max(opts.t1 - opts.t0, 1e-9);
  const x = (t: number) => PAD.left + ((t - opts.t0) / span) * w;
  const y = (v: number) => PAD.top + h - (v / top) * h;
  // Grid and axes.
  ctx.strokeStyle = theme.border;
  ctx.fillStyle = theme.muted;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let k = 0; k <= 4; k++) {
    const value = (top * k) / 4;
    const yy = Math.round(y(value)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(PAD.left, yy);
    ctx.lineTo(PAD.left + w, yy);
    ctx.stroke();
    ctx.fillText(opts.yFormat(value), PAD.left - 6, yy);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let k = 0; k <= 4; k++) {
    const t = opts.t0 + (span * k) / 4;
    ctx.fillText(k === 0 ? "0" : `+${formatDuration(t - opts.t0)}`, Math.min(Math.max(x(t), PAD.left + 14), PAD.left + w - 20), PAD.top + h + 5);
  }
  if (!series.some((s) => s.points.length)) {
    ctx.fillText(opts.empty ?? "No data yet", PAD.left + w / 2, PAD.top + h / 2 - 6);
    return;
  }
  for (const s of series) {
    if (!s.points.length) continue;
    ctx.beginPath();
    s.points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    if (s.fill) {
      ctx.lineTo(x(s.points[s.points.length - 1].t), y(0));
      ctx.lineTo(x(s.points[0].t), y(0));
      ctx.closePath();
      ctx.globalAlpha = 0.18;
      ctx.fillStyle = s.colour;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
  }
}

export function drawHistogram(
  ctx: CanvasRenderingContext2D,
  size: ChartSize,
  theme: Theme,
  hist: Histogram,
  marks: { value: number; label: string; colour: string }[],
): void {
  const w = size.width - PAD.left - PAD.right;
  const h = size.height - PAD.top - PAD.bottom;
  const ticks = countTicks(Math.max(0, ...hist.counts));
  const top = ticks[ticks.length - 1];
  ctx.strokeStyle = theme.border;
  ctx.fillStyle = theme.muted;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const value of ticks) {
    const yy = Math.round(PAD.top + h - (value / top) * h) + 0.5;
    ctx.beginPath();
    ctx.moveTo(PAD.left, yy);
    ctx.lineTo(PAD.left + w, yy);
    ctx.stroke();
    ctx.fillText(value.toLocaleString("en-US"), PAD.left - 6, yy);
  }
  if (!hist.counts.length) {
    ctx.textAlign = "center";
    ctx.fillText("No finished tasks yet", PAD.left + w / 2, PAD.top + h / 2);
    return;
  }
  const lo = hist.edges[0];
  const hi = hist.edges[hist.edges.length - 1];
  const x = (value: number) => PAD.left + ((value - lo) / (hi - lo)) * w;
  ctx.fillStyle = theme.accent;
  hist.counts.forEach((count, k) => {
    const x0 = x(hist.edges[k]);
    const x1 = x(hist.edges[k + 1]);
    const barH = (count / top) * h;
    ctx.fillRect(x0 + 0.5, PAD.top + h - barH, Math.max(1, x1 - x0 - 1), barH);
  });
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.fillStyle = theme.muted;
  for (let k = 0; k <= 4; k++) {
    const value = lo + ((hi - lo) * k) / 4;
    ctx.fillText(formatDuration(value), Math.min(Math.max(x(value), PAD.left + 14), PAD.left + w - 20), PAD.top + h + 5);
  }
  for (const mark of marks) {
    if (!(mark.value >= lo && mark.value <= hi)) continue;
    const xx = Math.round(x(mark.value)) + 0.5;
    ctx.strokeStyle = mark.colour;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(xx, PAD.top);
    ctx.lineTo(xx, PAD.top + h);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = mark.colour;
    ctx.textAlign = "left";
    ctx.fillText(mark.label, xx + 3, PAD.top);
  }
}
