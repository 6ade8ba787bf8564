// The Gantt chart's canvas: one draw per animation frame, layout from the local store (a live job that has
// caught up) or from the server's downsampled `timeline/` (a finished job, or one still catching up), mouse
// and keyboard zoom/pan, hit testing. React renders the chrome around it (GanttPanel.tsx).

import {
  barsFromTimeline,
  type Bars,
  chooseSource,
  type FetchedWindow,
  fetchWindow,
  hitTest,
  layoutTasks,
  MIXED_PHASE,
  needsFetch,
  type Source,
  tasksInView,
} from "./layout";
import { foldRows, type RowInfo } from "./lanes";
import { fitView, formatDuration, niceTicks, pan, toT, toX, type Viewport, zoomAround } from "./scale";
import { PHASES, STATUS_FAILED, STATUS_LOST, STATUS_NAMES, type TaskStore } from "./store";
import { readTheme, type Theme } from "./theme";
import type { TimelineResponse } from "./types";

export const AXIS_H = 24;
export const MIN_ROW_PX = 4;
export const MAX_ROW_PX = 26;
const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";

export interface TimelineQuery {
  start?: number;
  end?: number;
  width: number;
  rows: number;
}

/** What the pointer or the keyboard cursor is on: one task, or a merged bar. */
export interface BarInfo {
  count: number;
  start: number;
  end: number;
  status: string;
  statuses: { running: number; finished: number; failed: number };
  row: string;
  lane: string | null;
  key: string | null;
  group: string | null;
  phase: string | null;
  seq: number | null;
  error: string | null; // local tasks only (server bars: fetched on click)
  figures: Record<string, unknown> | null;
  x: number; // CSS pixels in the container, for the tooltip
  y: number;
}

export interface DrawStats {
  bars: number;
  tasks: number; // tasks known in all
  inWindow: number;
  exact: boolean;
  source: Source;
  ms: number;
  view: Viewport | null;
}

export interface EngineOptions {
  store: TaskStore;
  fetchTimeline?: (query: TimelineQuery, signal: AbortSignal) => Promise<TimelineResponse>;
  onHover?: (info: BarInfo | null) => void;
  onSelect?: (info: BarInfo | null) => void;
  onDraw?: (stats: DrawStats) => void;
}

export type ColourBy = "status" | "phase";

export class GanttEngine {
  private ctx: CanvasRenderingContext2D;
  private theme: Theme;
  private width = 0; // CSS pixels
  private height = 0;
  private dpr = 1;
  private frame = 0;
  private view: Viewport | null = null;
  private follow = true; // the view fits the data until the user zooms or pans
  private live = false;
  private synced = false;
  private jobEnded = false;
  private endedAt: number | null = null;
  private clockSkew = 0; // server now − browser now (from timeline responses)
  private colourBy: ColourBy = "status";
  private bars: Bars | null = null;
  private rows: RowInfo[] = [];
  private server: { bars: Bars; rows: RowInfo[]; data: TimelineResponse; fetched: FetchedWindow } | null = null;
  private serverExtent: Viewport | null = null;
  private serverTotal = 0;
  private fetching: AbortController | null = null;
  private fetchTimer: ReturnType<typeof setTimeout> | undefined;
  private lastFetchAt = 0;
  private tick: ReturnType<typeof setTimeout> | undefined;
  private hover: { row: number; bar: number } | null = null;
  private cursor: { row: number; bar: number } | null = null; // keyboard cursor
  private selected: { t0: number; row: number } | null = null;
  private drag: { x: number; view: Viewport; moved: boolean } | null = null;
  private resizeObserver: ResizeObserver | null = null;
  private disposers: (() => void)[] = [];

  constructor(
    private container: HTMLElement,
    private canvas: HTMLCanvasElement,
    private opts: EngineOptions,
  ) {
    const ctx = canvas.getContext("2d", { alpha: false });
    if (!ctx) throw new Error("canvas 2D is not available");
    this.ctx = ctx;
    this.theme = readTheme(container);
    this.measure();
    if (typeof ResizeObserver !== "undefined") {
      this.resizeObserver = new ResizeObserver(() => {
        this.measure();
        this.requestDraw();
      });
      this.resizeObserver.observe(container);
    }
    this.listen();
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    clearTimeout(this.fetchTimer);
    clearTimeout(this.tick);
    this.fetching?.abort();
    this.resizeObserver?.disconnect();
    for (const dispose of this.disposers) dispose();
  }

  // --- State from the panel ---------------------------------------------------------------------------------

  setLive(live: boolean, synced: boolean): void {
    this.live = live;
    this.synced = synced;
    this.requestDraw();
  }

  setJobEnded(ended: boolean, endedAt: number | null): void {
    this.jobEnded = ended;
    this.endedAt = endedAt;
    this.requestDraw();
  }

  setColourBy(mode: ColourBy): void {
    this.colourBy = mode;
    this.requestDraw();
  }

  refreshTheme(): void {
    this.theme = readTheme(this.container);
    this.requestDraw();
  }

  /** The store changed (live events) or the server should be asked again (live, not caught up). */
  dataChanged(): void {
    this.requestDraw();
  }

  get source(): Source {
    return chooseSource({ synced: this.synced });
  }

  // --- Geometry -----------------------------------------------------------------------------------------------

  private measure(): void {
    const rect = this.container.getBoundingClientRect();
    this.width = Math.max(200, Math.floor(rect.width || this.container.clientWidth || 800));
    this.height = Math.max(120, Math.floor(rect.height || this.container.clientHeight || 400));
    this.dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    this.canvas.width = Math.round(this.width * this.dpr);
    this.canvas.height = Math.round(this.height * this.dpr);
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
  }

  private get labelWidth(): number {
    return Math.round(Math.min(170, Math.max(90, this.width * 0.16)));
  }

  private get plot() {
    const x = this.labelWidth;
    return { x, y: AXIS_H, w: Math.max(10, this.width - x - 10), h: Math.max(10, this.height - AXIS_H - 6) };
  }

  private get maxRows(): number {
    return Math.max(1, Math.min(1000, Math.floor(this.plot.h / MIN_ROW_PX)));
  }

  private openEnd(): number {
    if (this.jobEnded && this.endedAt !== null) return this.endedAt;
    if (this.jobEnded) return this.opts.store.lastTime;
    return Date.now() / 1000 + this.clockSkew;
  }

  /** Everything there is to see: the tasks' extent (up to now while live). */
  private extent(): Viewport | null {
    if (this.source === "server") return this.serverExtent;
    const store = this.opts.store;
    if (!store.size) return null;
    const last = this.live && !this.jobEnded ? Math.max(store.lastTime, this.openEnd()) : store.lastTime;
    return fitView(store.firstStart, last);
  }

  // --- View ---------------------------------------------------------------------------------------------------

  zoom(factor: number, atX?: number): void {
    const extent = this.extent();
    if (!this.view || !extent) return;
    const plot = this.plot;
    const x = atX === undefined ? plot.w / 2 : atX;
    const at = toT(x, this.view, plot.w);
    this.view = zoomAround(this.view, at, factor, extent);
    this.follow = false;
    this.requestDraw();
  }

  panBy(pixels: number): void {
    const extent = this.extent();
    if (!this.view || !extent) return;
    const seconds = (pixels / this.plot.w) * (this.view.end - this.view.start);
    this.view = pan(this.view, seconds, extent);
    this.follow = false;
    this.requestDraw();
  }

  reset(): void {
    this.follow = true;
    this.view = this.extent();
    this.requestDraw();
  }

  zoomTo(start: number, end: number): void {
    const span = Math.max(end - start, 1e-3);
    this.view = { start: start - span * 0.1, end: end + span * 0.1 };
    this.follow = false;
    this.requestDraw();
  }

  getView(): Viewport | null {
    return this.view;
  }

  // --- Frames -------------------------------------------------------------------------------------------------

  requestDraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Lay out and paint now (the animation frame calls this; the bench may too). */
  draw(): DrawStats {
    const began = performance.now();
    const store = this.opts.store;
    const source = this.source;
    const plot = this.plot;
    if (this.follow) this.view = this.extent();
    if (source === "server") this.maybeFetch();
    const view = this.view;

    if (view && source === "local") {
      this.bars = layoutTasks(store, {
        view,
        width: plot.w,
        maxRows: this.maxRows,
        openEnd: this.openEnd(),
        jobEnded: this.jobEnded,
      });
      this.rows = this.rowsFor(store, this.bars.rows);
    } else if (source === "server" && this.server) {
      this.bars = this.server.bars;
      this.rows = this.server.rows;
    } else {
      this.bars = null;
      this.rows = [];
    }
    this.paint(view);
    const stats: DrawStats = {
      bars: this.bars ? this.visibleBars(this.bars, view) : 0,
      tasks: source === "local" ? store.size : Math.max(this.serverTotal, store.size),
      inWindow: this.bars && view ? tasksInView(this.bars, view) : 0,
      exact: this.bars ? this.bars.exact : true,
      source,
      ms: performance.now() - began,
      view,
    };
    this.container.dataset.bars = String(stats.bars);
    this.container.dataset.tasks = String(stats.tasks);
    this.container.dataset.source = source;
    this.container.dataset.exact = String(stats.exact);
    this.opts.onDraw?.(stats);
    // A live chart moves with the clock (running bars grow, the now line advances): redraw about 4 times a second.
    if (this.live && !this.jobEnded && !this.tick) {
      this.tick = setTimeout(() => {
        this.tick = undefined;
        this.requestDraw();
      }, 250);
    }
    return stats;
  }

  private rowCache: { key: string; rows: RowInfo[] } | null = null;

  private rowsFor(store: TaskStore, rows: number): RowInfo[] {
    const key = `${store.lanes.length}:${rows}`;
    if (this.rowCache?.key !== key) {
      const sorted: string[] = new Array(store.lanes.length);
      store.lanes.forEach((lane, i) => (sorted[store.laneRank[i]] = lane));
      this.rowCache = { key, rows: foldRows(sorted, rows) };
    }
    return this.rowCache.rows;
  }

  private visibleBars(bars: Bars, view: Viewport | null): number {
    if (!view || this.source === "local") return bars.n;
    let n = 0;
    for (let b = 0; b < bars.n; b++) if (bars.t1[b] >= view.start && bars.t0[b] <= view.end) n++;
    return n;
  }

  // --- Server timeline ------------------------------------------------------------------------------------------

  private maybeFetch(): void {
    const fetchTimeline = this.opts.fetchTimeline;
    if (!fetchTimeline || this.fetching) return;
    const plot = this.plot;
    const now = performance.now();
    const stale = this.live && !this.jobEnded && now - this.lastFetchAt > 1000; // live, not caught up: ≤ 1/s
    const view = this.view;
    const perPixel = view ? (view.end - view.start) / plot.w : 0;
    const fetched = this.server?.fetched ?? null;
    const wanted = !view || !this.server || this.server.rows.length > this.maxRows || needsFetch(view, perPixel, fetched);
    if (!wanted && !stale) return;
    clearTimeout(this.fetchTimer);
    this.fetchTimer = setTimeout(() => this.fetchNow(), this.server ? 120 : 0);
  }

  private fetchNow(): void {
    const fetchTimeline = this.opts.fetchTimeline;
    if (!fetchTimeline || this.fetching) return;
    const plot = this.plot;
    const query: TimelineQuery = { width: Math.min(4000, Math.max(10, Math.round(plot.w))), rows: this.maxRows };
    if (this.view && !this.follow) Object.assign(query, fetchWindow(this.view, plot.w));
    const controller = new AbortController();
    this.fetching = controller;
    this.lastFetchAt = performance.now();
    fetchTimeline(query, controller.signal)
      .then((data) => {
        this.clockSkew = data.now - Date.now() / 1000;
        const window = data.window;
        const total = data.groups.reduce((sum, g) => sum + g.tasks, 0);
        this.serverTotal = Math.max(total, query.start === undefined ? data.tasks : 0);
        if (query.start === undefined) this.serverExtent = fitView(window.start, window.end);
        else if (this.serverExtent) {
          const first = data.groups.length ? Math.min(...data.groups.map((g) => g.start)) : this.serverExtent.start;
          this.serverExtent = { start: Math.min(this.serverExtent.start, first), end: Math.max(this.serverExtent.end, data.now) };
        }
        this.server = {
          data,
          bars: barsFromTimeline(data, this.jobEnded),
          rows: data.rows.map((row) => ({ index: row.index, label: row.label, lanes: row.lanes })),
          fetched: { start: window.start, end: window.end, secondsPerPixel: window.seconds_per_pixel, exact: data.exact },
        };
      })
      .catch(() => undefined)
      .finally(() => {
        if (this.fetching === controller) this.fetching = null;
        this.requestDraw();
      });
  }

  // --- Paint ----------------------------------------------------------------------------------------------------

  private statusColour(code: number): string {
    const t = this.theme;
    return [t.running, t.ok, t.fail, t.cancelled][code] ?? t.muted;
  }

  private phaseColour(code: number): string {
    const t = this.theme;
    return code === MIXED_PHASE ? t.muted : [t.accent, t.ok, t.warn, t.queued, t.cancelled][code] ?? t.muted;
  }

  private rowGeometry(rows: number) {
    const plot = this.plot;
    const rowH = Math.min(MAX_ROW_PX, plot.h / Math.max(1, rows));
    const pad = rowH >= 8 ? Math.max(1, Math.round(rowH * 0.14)) : rowH >= 4 ? 0.5 : 0;
    return { rowH, pad };
  }

  private paint(view: Viewport | null): void {
    const { ctx, theme, dpr } = this;
    const plot = this.plot;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = theme.panel;
    ctx.fillRect(0, 0, this.width, this.height);
    ctx.font = FONT;
    ctx.textBaseline = "middle";
    if (!view) {
      ctx.fillStyle = theme.muted;
      ctx.textAlign = "center";
      const waiting = this.source === "server" && this.fetching ? "Loading the timeline…" : "No tasks yet";
      ctx.fillText(waiting, this.width / 2, this.height / 2);
      return;
    }
    const origin = this.source === "local" ? this.opts.store.firstStart : this.serverExtent?.start ?? view.start;
    this.paintAxis(view, origin);
    const bars = this.bars;
    if (!bars) return;
    const { rowH, pad } = this.rowGeometry(bars.rows);

    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.x, plot.y, plot.w, plot.h);
    ctx.clip();
    // Alternate row shading helps the eye follow a lane.
    if (rowH >= 6) {
      ctx.fillStyle = theme.bg;
      for (let r = 1; r < bars.rows; r += 2) ctx.fillRect(plot.x, plot.y + r * rowH, plot.w, rowH);
    }
    const scale = plot.w / (view.end - view.start);
    const exact = bars.exact;
    const colours = this.colourBy === "status" ? 4 : 6;
    for (let c = 0; c < colours; c++) {
      // Failures last: on top of everything else.
      const code = this.colourBy === "status" ? [1, 0, 3, 2][c] : [0, 1, 2, 3, 4, 5][c];
      const colour =
        this.colourBy === "status" ? this.statusColour(code) : this.phaseColour(code === 5 ? MIXED_PHASE : code);
      ctx.fillStyle = colour;
      for (let b = 0; b < bars.n; b++) {
        const match =
          this.colourBy === "status"
            ? bars.status[b] === code
            : bars.status[b] !== STATUS_FAILED && (code === 5 ? bars.phase[b] === MIXED_PHASE : bars.phase[b] === code);
        if (!match) continue;
        const t0 = bars.t0[b];
        const t1 = bars.t1[b];
        if (t1 < view.start || t0 > view.end) continue;
        let x0 = plot.x + (t0 - view.start) * scale;
        let x1 = plot.x + (t1 - view.start) * scale;
        if (!exact || bars.count[b] > 1) {
          x0 = Math.floor(x0 + 0.5);
          x1 = Math.max(x0 + 1, Math.floor(x1 + 0.5));
        } else if (x1 - x0 >= 4) {
          x1 -= 1; // a gap between tasks that touch
        } else if (x1 - x0 < 1) {
          x1 = x0 + 1;
        }
        const left = Math.max(x0, plot.x - 2);
        const right = Math.min(x1, plot.x + plot.w + 2);
        ctx.fillRect(left, plot.y + bars.row[b] * rowH + pad, right - left, rowH - 2 * pad);
      }
    }
    if (this.colourBy === "phase") {
      ctx.fillStyle = theme.fail;
      this.fillWhere(bars, view, rowH, pad, (b) => bars.status[b] === STATUS_FAILED, 1);
    }
    // Failures inside merged server bars: a strip along the bottom of the bar.
    ctx.fillStyle = theme.fail;
    this.fillWhere(bars, view, rowH, pad, (b) => bars.failed[b] > 0 && bars.status[b] !== STATUS_FAILED, 0.35);
    this.paintMarks(bars, view, rowH, pad);
    // The now line while the job runs.
    if (this.live && !this.jobEnded) {
      const x = plot.x + toX(this.openEnd(), view, plot.w);
      if (x >= plot.x && x <= plot.x + plot.w) {
        ctx.fillStyle = theme.accent;
        ctx.fillRect(Math.round(x), plot.y, 1.5, plot.h);
      }
    }
    ctx.restore();
    this.paintLabels(bars.rows, rowH);
  }

  private fillWhere(bars: Bars, view: Viewport, rowH: number, pad: number, test: (b: number) => boolean, part: number) {
    const plot = this.plot;
    const scale = plot.w / (view.end - view.start);
    const h = Math.max(1, (rowH - 2 * pad) * part);
    for (let b = 0; b < bars.n; b++) {
      if (!test(b) || bars.t1[b] < view.start || bars.t0[b] > view.end) continue;
      const x0 = Math.floor(plot.x + (bars.t0[b] - view.start) * scale + 0.5);
      const x1 = Math.max(x0 + 1, Math.floor(plot.x + (bars.t1[b] - view.start) * scale + 0.5));
      this.ctx.fillRect(x0, plot.y + (bars.row[b] + 1) * rowH - pad - h, x1 - x0, h);
    }
  }

  /** Outlines of the hovered, keyboard-focused and selected bars. */
  private paintMarks(bars: Bars, view: Viewport, rowH: number, pad: number): void {
    const { ctx, theme } = this;
    const plot = this.plot;
    const outline = (b: number, colour: string, width: number) => {
      if (b < 0 || b >= bars.n) return;
      const x0 = plot.x + toX(bars.t0[b], view, plot.w);
      const x1 = Math.max(x0 + 2, plot.x + toX(bars.t1[b], view, plot.w));
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.strokeRect(x0 - 1, plot.y + bars.row[b] * rowH + pad - 1, x1 - x0 + 2, Math.max(3, rowH - 2 * pad) + 2);
    };
    if (this.selected) {
      const b = this.findBar(this.selected.row, this.selected.t0);
      outline(b, theme.accent, 2);
    }
    if (this.cursor) outline(this.cursor.bar, theme.fg, 2);
    if (this.hover) outline(this.hover.bar, theme.fg, 1);
  }

  private findBar(row: number, t0: number): number {
    const bars = this.bars;
    if (!bars || row >= bars.rows) return -1;
    for (let b = bars.rowStart[row]; b < bars.rowStart[row + 1]; b++) if (bars.t0[b] === t0) return b;
    return -1;
  }

  private paintAxis(view: Viewport, origin: number): void {
    const { ctx, theme } = this;
    const plot = this.plot;
    const { step, ticks } = niceTicks(view, plot.w, origin, 90);
    ctx.textAlign = "center";
    ctx.lineWidth = 1;
    for (const t of ticks) {
      const x = Math.round(plot.x + toX(t, view, plot.w)) + 0.5;
      ctx.strokeStyle = theme.border;
      ctx.beginPath();
      ctx.moveTo(x, AXIS_H - 5);
      ctx.lineTo(x, plot.y + plot.h);
      ctx.stroke();
      ctx.fillStyle = theme.muted;
      const label = t - origin === 0 ? "0" : `+${formatDuration(t - origin, step)}`;
      ctx.fillText(label, Math.min(Math.max(x, plot.x + 20), plot.x + plot.w - 20), AXIS_H / 2 - 1);
    }
    ctx.strokeStyle = theme.border;
    ctx.beginPath();
    ctx.moveTo(plot.x, AXIS_H - 0.5);
    ctx.lineTo(plot.x + plot.w, AXIS_H - 0.5);
    ctx.stroke();
  }

  private paintLabels(rows: number, rowH: number): void {
    const { ctx, theme } = this;
    const plot = this.plot;
    ctx.fillStyle = theme.panel;
    ctx.fillRect(0, plot.y, plot.x - 1, plot.h);
    ctx.fillStyle = theme.border;
    ctx.fillRect(plot.x - 1, plot.y, 1, plot.h);
    ctx.fillStyle = theme.muted;
    ctx.textAlign = "right";
    const every = Math.max(1, Math.ceil(13 / rowH)); // a label every `every` rows, 13 px apart at least
    const maxWidth = plot.x - 10;
    for (let r = 0; r < rows && r < this.rows.length; r += every) {
      const y = plot.y + r * rowH + rowH / 2;
      if (y > plot.y + plot.h) break;
      let label = every > 1 ? this.rows[r].lanes[0] : this.rows[r].label;
      if (ctx.measureText(label).width > maxWidth) {
        while (label.length > 3 && ctx.measureText(`…${label}`).width > maxWidth) label = label.slice(1);
        label = `…${label}`;
      }
      ctx.fillText(label, plot.x - 6, every > 1 ? plot.y + r * rowH + 6 : y);
    }
  }

  // --- Hit testing ------------------------------------------------------------------------------------------------

  private barAt(x: number, y: number): { row: number; bar: number } | null {
    const bars = this.bars;
    const view = this.view;
    if (!bars || !view) return null;
    const plot = this.plot;
    if (x < plot.x || x > plot.x + plot.w || y < plot.y || y > plot.y + plot.h) return null;
    const { rowH } = this.rowGeometry(bars.rows);
    const row = Math.floor((y - plot.y) / rowH);
    if (row >= bars.rows) return null;
    const t = toT(x - plot.x, view, plot.w);
    const tolerance = (2 * (view.end - view.start)) / plot.w;
    const bar = hitTest(bars, row, t, tolerance);
    return bar < 0 ? null : { row, bar };
  }

  info(at: { row: number; bar: number } | null): BarInfo | null {
    const bars = this.bars;
    const view = this.view;
    if (!at || !bars || !view || at.bar >= bars.n) return null;
    const b = at.bar;
    const plot = this.plot;
    const { rowH } = this.rowGeometry(bars.rows);
    const base = {
      count: bars.count[b],
      start: bars.t0[b],
      end: bars.t1[b],
      status: STATUS_NAMES[bars.status[b]],
      statuses: { running: bars.running[b], finished: bars.finished[b], failed: bars.failed[b] },
      row: this.rows[bars.row[b]]?.label ?? "",
      x: plot.x + Math.max(0, Math.min(plot.w, toX((bars.t0[b] + bars.t1[b]) / 2, view, plot.w))),
      y: plot.y + (bars.row[b] + 1) * rowH,
    };
    const i = bars.task[b];
    if (i >= 0) {
      const task = this.opts.store.record(i);
      return {
        ...base, lane: task.lane, key: task.key, group: task.group, phase: task.phase, seq: task.seq,
        error: task.error || null, figures: task.figures,
        status: bars.status[b] === STATUS_LOST ? "lost" : task.status,
      }; // prettier-ignore
    }
    const server = this.server?.data.bars;
    const lane = bars.lane[b] ?? null;
    const key = bars.key[b] ?? null;
    let group: string | null = null;
    let phase: string | null = bars.phase[b] === MIXED_PHASE ? null : PHASES[bars.phase[b]] ?? null;
    let seq: number | null = null;
    if (server && key) {
      const original = server.find((bar) => bar.key === key && bar.start === bars.t0[b]);
      group = original?.group ?? null;
      phase = original?.phase ?? phase;
      seq = original?.seq ?? null;
    }
    return { ...base, lane, key, group, phase, seq, error: null, figures: null };
  }

  // --- Input ------------------------------------------------------------------------------------------------------

  private listen(): void {
    const canvas = this.canvas;
    const on = <K extends keyof HTMLElementEventMap>(
      target: HTMLElement | Window,
      type: K,
      handler: (event: HTMLElementEventMap[K]) => void,
      options?: AddEventListenerOptions,
    ) => {
      target.addEventListener(type, handler as EventListener, options);
      this.disposers.push(() => target.removeEventListener(type, handler as EventListener, options));
    };
    const local = (event: MouseEvent) => {
      const rect = canvas.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    };
    on(canvas, "wheel", (event) => {
      event.preventDefault();
      const { x } = local(event);
      if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
        this.panBy(event.shiftKey ? event.deltaY : event.deltaX);
        return;
      }
      const unit = event.deltaMode === 1 ? 33 : event.deltaMode === 2 ? 500 : 1;
      const factor = Math.exp((-event.deltaY * unit) / 300);
      this.zoom(factor, x - this.plot.x);
    }, { passive: false }); // prettier-ignore
    on(canvas, "mousedown", (event) => {
      if (event.button !== 0 || !this.view) return;
      this.drag = { x: event.clientX, view: this.view, moved: false };
    });
    on(window, "mousemove", (event) => {
      if (this.drag) {
        const dx = event.clientX - this.drag.x;
        if (Math.abs(dx) > 3) this.drag.moved = true;
        if (this.drag.moved) {
          const extent = this.extent();
          const seconds = (-dx / this.plot.w) * (this.drag.view.end - this.drag.view.start);
          this.view = pan(this.drag.view, seconds, extent ?? undefined);
          this.follow = false;
          this.requestDraw();
        }
        return;
      }
      if (event.target !== canvas) return;
      const { x, y } = local(event);
      const hit = this.barAt(x, y);
      if (hit?.bar !== this.hover?.bar || hit?.row !== this.hover?.row) {
        this.hover = hit;
        this.opts.onHover?.(this.info(hit));
        this.requestDraw();
      }
    });
    on(canvas, "mouseleave", () => {
      if (this.hover) {
        this.hover = null;
        this.opts.onHover?.(null);
        this.requestDraw();
      }
    });
    on(window, "mouseup", (event) => {
      const drag = this.drag;
      this.drag = null;
      if (!drag || drag.moved || event.target !== canvas) return;
      const { x, y } = local(event);
      this.select(this.barAt(x, y));
    });
    on(canvas, "dblclick", () => this.reset());
    on(canvas, "keydown", (event) => this.key(event));
  }

  private select(at: { row: number; bar: number } | null): void {
    const info = this.info(at);
    if (info && info.count > 1) {
      // A merged bar: zoom into it to see its tasks.
      this.zoomTo(info.start, info.end);
      return;
    }
    this.selected = at && this.bars ? { row: at.row, t0: this.bars.t0[at.bar] } : null;
    this.opts.onSelect?.(info);
    this.requestDraw();
  }

  private key(event: KeyboardEvent): void {
    const step = event.shiftKey ? 0.5 : 0.1;
    const bars = this.bars;
    let handled = true;
    switch (event.key) {
      case "+":
      case "=":
        this.zoom(1.5);
        break;
      case "-":
      case "_":
        this.zoom(1 / 1.5);
        break;
      case "ArrowLeft":
        this.panBy(-this.plot.w * step);
        break;
      case "ArrowRight":
        this.panBy(this.plot.w * step);
        break;
      case "0":
      case "Home":
        this.reset();
        break;
      case "ArrowDown":
      case "ArrowUp":
      case ",":
      case ".":
        if (bars && bars.n) this.moveCursor(event.key);
        break;
      case "Enter":
      case " ":
        if (this.cursor) this.select(this.cursor);
        break;
      case "Escape":
        this.cursor = null;
        this.selected = null;
        this.opts.onSelect?.(null);
        this.opts.onHover?.(null);
        this.requestDraw();
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  }

  /** Keyboard cursor: Up/Down change row, ',' and '.' go to the previous and next bar of the row. */
  private moveCursor(key: string): void {
    const bars = this.bars!;
    const view = this.view!;
    const middle = (view.start + view.end) / 2;
    let row = this.cursor?.row ?? 0;
    if (key === "ArrowDown" && this.cursor) row = Math.min(bars.rows - 1, row + 1);
    if (key === "ArrowUp" && this.cursor) row = Math.max(0, row - 1);
    const first = bars.rowStart[row];
    const last = bars.rowStart[row + 1];
    if (first === last) {
      this.cursor = { row, bar: -1 };
      this.opts.onHover?.(null);
      this.requestDraw();
      return;
    }
    let bar: number;
    if ((key === "," || key === ".") && this.cursor && this.cursor.bar >= first && this.cursor.bar < last) {
      bar = Math.max(first, Math.min(last - 1, this.cursor.bar + (key === "." ? 1 : -1)));
    } else {
      // The bar nearest the middle of the view.
      bar = first;
      let best = Infinity;
      for (let b = first; b < last; b++) {
        const d = Math.abs((bars.t0[b] + bars.t1[b]) / 2 - middle);
        if (d < best) [best, bar] = [d, b];
      }
    }
    this.cursor = { row, bar };
    // Keep it on screen.
    if (bars.t1[bar] < view.start || bars.t0[bar] > view.end) {
      const span = view.end - view.start;
      this.view = { start: bars.t0[bar] - span / 2, end: bars.t0[bar] + span / 2 };
      this.follow = false;
    }
    this.opts.onHover?.(this.info(this.cursor));
    this.requestDraw();
  }
}
