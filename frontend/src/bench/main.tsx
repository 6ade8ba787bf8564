// The Gantt render bench (bench/bench_gantt.py, tests/e2e/test_gantt_render.py): the real chart with synthetic
// tasks injected as the live socket would deliver them, no server. `?tasks=100000&lanes=64&zooms=10&theme=dark`;
// `format=columns` (default: the history as the IDE asks for it, `tasks_format=columns`) or `format=rows` (events).
// Reports `window.__benchResult`: time from data ready (a JSON frame in hand) to the first painted frame, and the
// time of a zoom frame (wheel event dispatched → its frame painted), averaged over several zooms.

import { createRoot } from "react-dom/client";
import { type TaskColumns, toColumns } from "../gantt/columns";
import type { DrawStats } from "../gantt/engine";
import { GanttChart } from "../gantt/GanttChart";
import { TaskStore } from "../gantt/store";
import { syntheticEvents } from "../gantt/testing";
import type { TaskEvent } from "../gantt/types";

export interface BenchResult {
  format: string;
  tasks: number;
  lanes: number;
  bars: number;
  parseMs: number;
  mergeMs: number;
  firstDrawMs: number; // data ready → the first draw's paint calls done
  firstPaintMs: number; // data ready → the next animation frame after it (the frame is on screen)
  firstLayoutMs: number; // the first draw's own time (order, layout, paint)
  zoomFrameMs: number; // mean of wheel dispatched → the chart drawn in the next animation frame
  zoomFrameMaxMs: number;
  zoomPresentedMs: number; // mean of wheel dispatched → the animation frame after that one (on screen for sure)
  zoomDrawMs: number; // mean layout + paint time inside the zoom frames
  zoomFrames: number[];
  error?: string;
}

declare global {
  interface Window {
    __benchResult?: BenchResult;
  }
}

const params = new URLSearchParams(location.search);
const TASKS = Number(params.get("tasks") ?? 100_000);
const LANES = Number(params.get("lanes") ?? 64);
const ZOOMS = Number(params.get("zooms") ?? 10);
const FORMAT = params.get("format") === "rows" ? "rows" : "columns";
if (params.get("theme")) document.documentElement.setAttribute("data-theme", params.get("theme")!);

const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now())));

let drawListener: ((stats: DrawStats) => void) | null = null;
const nextDraw = () =>
  new Promise<DrawStats>((resolve) => {
    drawListener = (stats) => {
      drawListener = null;
      resolve(stats);
    };
  });

async function main() {
  const store = new TaskStore();
  const root = createRoot(document.getElementById("root")!);
  const render = (version: number) =>
    root.render(
      <GanttChart
        store={store}
        version={version}
        live={false}
        synced={true}
        jobEnded={true}
        endedAt={null}
        onDraw={(stats) => drawListener?.(stats)}
      />,
    );
  // The panel is on screen before the data arrives, as in the IDE.
  render(0);
  await nextFrame();
  await nextFrame();

  // The data as the socket delivers it: batch frames of job.tasks messages of 5,000 events (the server's
  // catch-up page), as events or as columns, already received as text.
  const frames: string[] = [];
  {
    const events = syntheticEvents({ tasks: TASKS, lanes: LANES, failEvery: 97, meanDuration: 0.5 });
    for (let i = 0; i < events.length; i += 5000) {
      const page = events.slice(i, i + 5000);
      const message = FORMAT === "rows" ? { type: "job.tasks", events: page } : { type: "job.tasks", columns: toColumns(page) };
      frames.push(JSON.stringify({ type: "batch", messages: [message] }));
    }
  }
  // The synthetic events' garbage is the bench's, not the chart's: collected before the clock starts (Chromium
  // runs with --expose-gc in bench_gantt.py).
  (window as unknown as { gc?: () => void }).gc?.();
  await nextFrame();

  const ready = performance.now();
  let parseMs = 0;
  let mergeMs = 0;
  for (const text of frames) {
    const t0 = performance.now();
    const frame = JSON.parse(text);
    const t1 = performance.now();
    for (const message of frame.messages as { events?: TaskEvent[]; columns?: TaskColumns }[]) {
      if (message.columns) store.mergeColumns(message.columns);
      else store.merge(message.events!);
    }
    parseMs += t1 - t0;
    mergeMs += performance.now() - t1;
  }
  const drawn = nextDraw();
  (window as unknown as { __mergedAt: number }).__mergedAt = performance.now() - ready;
  render(store.version);
  const first = await drawn;
  const firstDrawMs = performance.now() - ready;
  const firstPaintMs = (await nextFrame()) - ready;

  const canvas = document.querySelector("canvas")!;
  const rect = canvas.getBoundingClientRect();
  const frameTimes: number[] = [];
  const presentedTimes: number[] = [];
  const drawTimes: number[] = [];
  for (let z = 0; z < ZOOMS; z++) {
    await nextFrame();
    // Zoom in then out around different points: the views stay zoomed out (the heavy case: every task in view).
    const deltaY = z % 2 === 0 ? -120 : 100;
    const x = rect.left + rect.width * (0.3 + (0.4 * z) / Math.max(1, ZOOMS));
    const y = rect.top + rect.height / 2;
    const drawnZoom = nextDraw();
    const started = performance.now();
    canvas.dispatchEvent(new WheelEvent("wheel", { deltaY, clientX: x, clientY: y, bubbles: true, cancelable: true }));
    const stats = await drawnZoom;
    frameTimes.push(performance.now() - started);
    const shown = await nextFrame();
    presentedTimes.push(shown - started);
    drawTimes.push(stats.ms);
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  window.__benchResult = {
    format: FORMAT,
    tasks: store.size,
    lanes: store.lanes.length,
    bars: first.bars,
    parseMs,
    mergeMs,
    firstDrawMs,
    firstPaintMs,
    firstLayoutMs: first.ms,
    zoomFrameMs: mean(frameTimes),
    zoomFrameMaxMs: Math.max(...frameTimes),
    zoomPresentedMs: mean(presentedTimes),
    zoomDrawMs: mean(drawTimes),
    zoomFrames: frameTimes,
  };
}

main().catch((error: unknown) => {
  window.__benchResult = { error: String(error) } as BenchResult;
});
