// What to draw: the tasks of a window culled, placed on rows and, when they are too many for the pixels,
// merged exactly as the server's timeline does (monitoring/timeline.py), so a view looks the same whether it
// was laid out here from live events or fetched zoomed out from `timeline/`.
//
// Rule (the server's): the window is `width` pixels wide, each lane a row, neighbouring lanes sharing rows when
// there are more lanes than rows. A task covers pixels [round(x0), max(round(x0) + 1, round(x1))) of its row.
// Walking a row in start order, a task joins the row's current bar when it starts on a pixel the bar covers,
// or when it or the bar's last task is thinner than MIN_BAR_PX and the gap is under a pixel. When the window
// holds few tasks (≤ EXACT_MAX_BARS and ≤ width × rows) every task is its own bar.
//
// One difference, for the eye: the server colours a merged bar by its most notable task, so one failure among
// a thousand tasks paints the whole run red. Here failed tasks are merged among themselves only, on a second
// track of the row drawn on top, and the other bars take their dominant status (finished or running). A
// failure stays visible where it happened; each track has disjoint pixels, so at most 2 × width bars a row.

import { rowOfRank } from "./lanes";
import type { Viewport } from "./scale";
import {
  STATUS_FAILED,
  STATUS_FINISHED,
  STATUS_LOST,
  STATUS_RUNNING,
  type TaskStore,
} from "./store";
import type { TimelineResponse } from "./types";

export const EXACT_MAX_BARS = 5000;
export const MIN_BAR_PX = 3;
export const MIXED_PHASE = 255;


export interface Bars {
  n: number;
  row: Uint32Array;
  t0: Float64Array; // the bar's first task start
  t1: Float64Array; // the bar's last end
  status: Uint8Array; // failed, or the dominant status of the bar's tasks (server bars: the most notable)
  phase: Uint8Array; // phase code, MIXED_PHASE when merged tasks differ
  count: Uint32Array; // tasks merged into the bar
  running: Uint32Array;
  finished: Uint32Array;
  failed: Uint32Array;
  task: Int32Array; // store index when count is 1 (local layout), else -1
  key: (string | null)[]; // the task's key when count is 1 (server bars)
  lane: (string | null)[]; // server bars: the lane, null when merged from several
  rowStart: Uint32Array; // bars of row r are [rowStart[r], rowStart[r + 1])
  rows: number;
  exact: boolean; // every bar is one task
  tasks: number; // tasks in the window (sum of counts)
}

function allocBars(capacity: number, rows: number): Bars {
  return {
    n: 0,
    row: new Uint32Array(capacity),
    t0: new Float64Array(capacity),
    t1: new Float64Array(capacity),
    status: new Uint8Array(capacity),
    phase: new Uint8Array(capacity),
    count: new Uint32Array(capacity),
    running: new Uint32Array(capacity),
    finished: new Uint32Array(capacity),
    failed: new Uint32Array(capacity),
    task: new Int32Array(capacity),
    key: [],
    lane: [],
    rowStart: new Uint32Array(rows + 1),
    rows,
    exact: true,
    tasks: 0,
  };
}

/** Reorder bars by row (stable: each row keeps its start order) and fill `rowStart`. */
function groupByRow(bars: Bars): Bars {
  const { n, rows } = bars;
  const counts = new Uint32Array(rows + 1);
  for (let b = 0; b < n; b++) counts[bars.row[b] + 1]++;
  for (let r = 0; r < rows; r++) counts[r + 1] += counts[r];
  const out = allocBars(n, rows);
  out.rowStart.set(counts);
  const next = counts.slice(0, rows);
  for (let b = 0; b < n; b++) {
    const k = next[bars.row[b]]++;
    out.row[k] = bars.row[b];
    out.t0[k] = bars.t0[b];
    out.t1[k] = bars.t1[b];
    out.status[k] = bars.status[b];
    out.phase[k] = bars.phase[b];
    out.count[k] = bars.count[b];
    out.running[k] = bars.running[b];
    out.finished[k] = bars.finished[b];
    out.failed[k] = bars.failed[b];
    out.task[k] = bars.task[b];
    out.key[k] = bars.key[b] ?? null;
    out.lane[k] = bars.lane[b] ?? null;
  }
  out.n = n;
  out.exact = bars.exact;
  out.tasks = bars.tasks;
  return out;
}

export interface LayoutOptions {
  view: Viewport;
  width: number; // plot width in CSS pixels
  maxRows: number;
  openEnd: number; // where running tasks are drawn to: now, or the job's end
  jobEnded: boolean; // running tasks of an ended job are "lost"
}

let work = allocBars(1024, 1);

/** Cull, place and (when needed) merge the store's tasks for a view. O(tasks in the window). */
export function layoutTasks(store: TaskStore, opts: LayoutOptions): Bars {
  const { view, openEnd, jobEnded } = opts;
  const width = Math.max(1, Math.floor(opts.width));
  const lanes = store.lanes.length;
  const rows = Math.max(1, Math.min(Math.max(1, opts.maxRows), lanes || 1));
  const [lo, hi] = store.cullRange(view.start, view.end, openEnd);
  const { order, start, end, laneRank, lane } = store;

  // Pass 1: whether the window holds few enough tasks to draw each one. Counting stops past the limit: a zoomed-out
  // view of a million tasks need not be walked twice.
  const limit = Math.min(EXACT_MAX_BARS, width * rows);
  let few = 0;
  for (let k = lo; k < hi && few <= limit; k++) {
    const i = order[k];
    const e = end[i];
    const stop = e === e ? e : Math.max(start[i], openEnd);
    if (stop >= view.start && start[i] <= view.end) few++;
  }
  const exact = few <= limit;
  // Bars are built in a buffer kept between frames (no garbage per frame), then copied grouped by row. Merged, a
  // track's bars cover disjoint pixels: at most `width` bars a track.
  const capacity = exact ? few : Math.min(hi - lo, 2 * width * rows);
  if (work.row.length < capacity) work = allocBars(Math.max(capacity, work.row.length * 2), 1);
  const bars = work;
  bars.n = 0;
  bars.rows = rows;
  bars.key.length = 0;
  bars.lane.length = 0;

  // Each lane's row, once per layout rather than once per task.
  const laneRow = new Uint32Array(lanes);
  for (let l = 0; l < lanes; l++) laneRow[l] = rowOfRank(laneRank[l], lanes, rows);
  const perPixel = (view.end - view.start) / width;
  const pixelsPerSecond = 1 / perPixel;
  const thin = MIN_BAR_PX * perPixel;
  // Two tracks a row (2r: other tasks, 2r + 1: failed tasks), each with its open bar.
  const current = new Int32Array(2 * rows).fill(-1);
  const currentPxEnd = new Int32Array(2 * rows);
  const currentNarrow = new Uint8Array(2 * rows);
  const status = store.status;
  const phase = store.phase;

  // Pass 2: the tasks that overlap the window, in start order, each its own bar or merged into its track's.
  let visible = 0;
  for (let k = lo; k < hi; k++) {
    const i = order[k];
    const t0 = start[i];
    const e = end[i];
    const t1 = e === e ? e : Math.max(t0, openEnd);
    if (t1 < view.start || t0 > view.end) continue;
    visible++;
    let state = status[i];
    if (state === STATUS_RUNNING && jobEnded) state = STATUS_LOST;
    const row = laneRow[lane[i]];
    const track = 2 * row + (state === STATUS_FAILED ? 1 : 0);
    const from = t0 > view.start ? t0 : view.start;
    const to = t1 < view.end ? t1 : view.end;
    const pxStart = Math.min(width - 1, Math.floor((from - view.start) * pixelsPerSecond + 0.5));
    const pxEnd = Math.max(pxStart + 1, Math.floor((to - view.start) * pixelsPerSecond + 0.5));
    const narrow = to - from < thin;
    const b = current[track];
    if (
      !exact &&
      b >= 0 &&
      (pxStart < currentPxEnd[track] || ((narrow || currentNarrow[track]) && t0 - bars.t1[b] < perPixel))
    ) {
      // Joins the track's open bar; its colour is settled once the row is walked (below).
      currentNarrow[track] = narrow ? 1 : 0;
      if (pxEnd > currentPxEnd[track]) currentPxEnd[track] = pxEnd;
      if (t1 > bars.t1[b]) bars.t1[b] = t1;
      bars.task[b] = -1;
      if (bars.phase[b] !== phase[i]) bars.phase[b] = MIXED_PHASE;
      bars.count[b]++;
      countStatus(bars, b, state);
      continue;
    }
    const n = bars.n++;
    bars.row[n] = row;
    bars.t0[n] = t0;
    bars.t1[n] = t1;
    bars.status[n] = state;
    bars.phase[n] = phase[i];
    bars.count[n] = 1;
    bars.task[n] = i;
    bars.running[n] = bars.finished[n] = bars.failed[n] = 0;
    countStatus(bars, n, state);
    current[track] = n;
    currentPxEnd[track] = pxEnd;
    currentNarrow[track] = narrow ? 1 : 0;
  }
  // A merged bar of other tasks takes their dominant status (failed ones have their own track).
  for (let b = 0; b < bars.n; b++) {
    if (bars.count[b] > 1 && bars.status[b] !== STATUS_FAILED) {
      bars.status[b] = bars.running[b] > bars.finished[b] ? (jobEnded ? STATUS_LOST : STATUS_RUNNING) : STATUS_FINISHED;
    }
  }
  bars.tasks = visible;
  bars.exact = exact || visible === bars.n;
  return groupByRow(bars);
}

function countStatus(bars: Bars, b: number, status: number): void {
  if (status === STATUS_FINISHED) bars.finished[b]++;
  else if (status === STATUS_FAILED) bars.failed[b]++;
  else bars.running[b]++;
}

const STATUS_BY_NAME: Record<string, number> = {
  running: STATUS_RUNNING, finished: STATUS_FINISHED, failed: STATUS_FAILED, lost: STATUS_LOST,
}; // prettier-ignore
const PHASE_BY_NAME: Record<string, number> = { task: 0, compute: 1, transfer: 2, "disk-read": 3, "disk-write": 4 };

/** The bars of a `timeline/` response in the same shape (their times are re-projected on every frame, so a
 * view being zoomed shows the last response at once, sharpened when the next one arrives). */
export function barsFromTimeline(data: TimelineResponse, jobEnded: boolean): Bars {
  const rows = Math.max(1, data.rows.length);
  const n = data.bars.length;
  const bars = allocBars(n, rows);
  data.bars.forEach((bar, b) => {
    // The server colours a merged bar by its most notable task; here by its dominant one (failures are drawn
    // as a strip along the bar, see render.ts), as local bars are.
    // Lost tasks count with the running ones: a merged bar of them is drawn lost (the job has ended).
    const running = (bar.statuses.running ?? 0) + (bar.statuses.lost ?? 0);
    const finished = bar.statuses.finished ?? 0;
    const failed = bar.statuses.failed ?? 0;
    let status =
      bar.count === 1 ? STATUS_BY_NAME[bar.status] ?? STATUS_RUNNING
      : failed >= bar.count ? STATUS_FAILED
      : running > finished ? (bar.statuses.lost ? STATUS_LOST : STATUS_RUNNING) : STATUS_FINISHED; // prettier-ignore
    if (status === STATUS_RUNNING && jobEnded) status = STATUS_LOST;
    bars.row[b] = Math.min(rows - 1, bar.row);
    bars.t0[b] = bar.start;
    bars.t1[b] = bar.end;
    bars.status[b] = status;
    bars.phase[b] = bar.phase === null ? MIXED_PHASE : PHASE_BY_NAME[bar.phase] ?? 0;
    bars.count[b] = bar.count;
    bars.running[b] = running;
    bars.finished[b] = finished;
    bars.failed[b] = failed;
    bars.task[b] = -1;
    bars.key[b] = bar.count === 1 ? bar.key : null;
    bars.lane[b] = bar.lane;
  });
  bars.n = n;
  bars.exact = data.exact;
  bars.tasks = data.tasks;
  return groupByRow(bars);
}

/** The tasks of the bars that show in `view`: what "N in view" counts. The server answers for a window wider than
 * the view (so a small pan or zoom needs no new request), so its own count is not the view's; a merged bar that
 * reaches into the view counts all its tasks. */
export function tasksInView(bars: Bars, view: Viewport): number {
  let tasks = 0;
  for (let b = 0; b < bars.n; b++) if (bars.t1[b] >= view.start && bars.t0[b] <= view.end) tasks += bars.count[b];
  return tasks;
}

/** The bar of `row` under time `t` (within `tolerance` seconds, for bars one pixel wide), or -1. Among
 * overlapping exact bars the one that started last (drawn on top) wins. */
export function hitTest(bars: Bars, row: number, t: number, tolerance: number): number {
  if (row < 0 || row >= bars.rows) return -1;
  let found = -1;
  let best = Infinity;
  for (let b = bars.rowStart[row]; b < bars.rowStart[row + 1]; b++) {
    if (bars.t0[b] - tolerance > t) break;
    if (bars.t1[b] + tolerance < t) continue;
    const inside = t >= bars.t0[b] && t <= bars.t1[b];
    const distance = inside ? 0 : Math.min(Math.abs(t - bars.t0[b]), Math.abs(t - bars.t1[b]));
    if (distance <= best) {
      best = distance;
      found = b;
    }
  }
  return found;
}

export type Source = "local" | "server";

/** Where the bars of a view come from. Local events are drawn once the store holds every task (a live socket
 * has caught up, `synced`): exact when zoomed in, merged here when zoomed out, updated with every frame of
 * events. Otherwise (a job watched after it ended, or a live one still catching up) the server's `timeline/`
 * draws the window, downsampled to the screen and exact when zoomed in on few tasks. */
export function chooseSource(state: { synced: boolean }): Source {
  return state.synced ? "local" : "server";
}

export interface FetchedWindow {
  start: number;
  end: number;
  secondsPerPixel: number;
  exact: boolean;
}

/** Whether the server must be asked again for `view` (`secondsPerPixel` on screen) given the last response:
 * never while the view is inside an exact response (every task of it is there, zooming in shows them all), and
 * otherwise when the view leaves the fetched window or is zoomed in past the response's resolution. */
export function needsFetch(view: Viewport, secondsPerPixel: number, fetched: FetchedWindow | null): boolean {
  if (!fetched) return true;
  const span = view.end - view.start;
  const slack = span * 1e-6;
  if (view.start < fetched.start - slack || view.end > fetched.end + slack) return true;
  if (fetched.exact) return false;
  return fetched.secondsPerPixel > secondsPerPixel * 1.5;
}

/** The window to ask the server for: the view with half a view of margin on each side (panning a little does
 * not need a new request), capped to the server's 4000 pixels. */
export function fetchWindow(view: Viewport, plotWidth: number): { start: number; end: number; width: number } {
  const span = view.end - view.start;
  const width = Math.min(4000, Math.max(10, Math.round(plotWidth * 2)));
  return { start: view.start - span / 2, end: view.end + span / 2, width };
}
