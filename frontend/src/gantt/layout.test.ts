import { barsFromTimeline, chooseSource, EXACT_MAX_BARS, hitTest, layoutTasks, needsFetch } from "./layout";
import { STATUS_FAILED, STATUS_FINISHED, STATUS_LOST, TaskStore } from "./store";
import { syntheticEvents } from "./testing";
import type { TaskEvent, TimelineResponse } from "./types";

const ORIGIN = 1_700_000_000;

function storeOf(events: TaskEvent[]): TaskStore {
  const store = new TaskStore();
  store.merge(events);
  return store;
}

function extent(store: TaskStore) {
  let last = -Infinity;
  for (let i = 0; i < store.size; i++) last = Math.max(last, store.endOf(i, 0));
  return { start: store.firstStart, end: last };
}

describe("layout: downsampling", () => {
  const big = storeOf(syntheticEvents({ tasks: 100_000, lanes: 64, meanDuration: 0.5, failEvery: 97 }));

  it("bounds the bars by width × rows and conserves the task count when zoomed out", () => {
    const view = extent(big);
    for (const [width, rows] of [[1000, 64], [300, 16], [50, 3]]) {
      const bars = layoutTasks(big, { view, width, maxRows: rows, openEnd: 0, jobEnded: true });
      expect(bars.exact).toBe(false);
      expect(bars.n).toBeLessThanOrEqual(2 * width * rows);
      expect(bars.tasks).toBe(100_000);
      let sum = 0;
      let statuses = 0;
      for (let b = 0; b < bars.n; b++) {
        sum += bars.count[b];
        statuses += bars.running[b] + bars.finished[b] + bars.failed[b];
      }
      expect(sum).toBe(100_000);
      expect(statuses).toBe(100_000);
    }
  });

  it("draws bars of one track (failed or not) of a row on disjoint pixels when merged", () => {
    const view = extent(big);
    const width = 800;
    const bars = layoutTasks(big, { view, width, maxRows: 20, openEnd: 0, jobEnded: true });
    const perPixel = (view.end - view.start) / width;
    const px = (t: number) => Math.floor((Math.min(Math.max(t, view.start), view.end) - view.start) / perPixel + 0.5);
    let overlaps = 0;
    for (let r = 0; r < bars.rows; r++) {
      const lastEnd = [-1, -1];
      for (let b = bars.rowStart[r]; b < bars.rowStart[r + 1]; b++) {
        const track = bars.status[b] === STATUS_FAILED ? 1 : 0;
        const x0 = Math.min(width - 1, px(bars.t0[b]));
        if (x0 < lastEnd[track]) overlaps++;
        lastEnd[track] = Math.max(x0 + 1, px(bars.t1[b]));
      }
    }
    expect(overlaps).toBe(0);
    expect(bars.n).toBeLessThan(20 * 800);
  });

  it("keeps failures visible on their own bars, other bars coloured by their dominant status", () => {
    const view = extent(big);
    const bars = layoutTasks(big, { view, width: 200, maxRows: 8, openEnd: 0, jobEnded: true });
    let failedBars = 0;
    let failedTasks = 0;
    let mixed = 0;
    for (let b = 0; b < bars.n; b++) {
      if (bars.status[b] === STATUS_FAILED) {
        failedBars++;
        failedTasks += bars.failed[b];
        if (bars.failed[b] !== bars.count[b]) mixed++;
      } else {
        if (bars.failed[b]) mixed++;
        expect(bars.status[b]).toBe(STATUS_FINISHED);
      }
    }
    expect(mixed).toBe(0);
    expect(failedBars).toBeGreaterThan(0);
    expect(failedTasks).toBe(Math.floor(100_000 / 97));
  });

  it("is exact (one bar per task) when zoomed in", () => {
    const view = { start: ORIGIN + 100, end: ORIGIN + 102 };
    const bars = layoutTasks(big, { view, width: 1000, maxRows: 64, openEnd: 0, jobEnded: true });
    expect(bars.exact).toBe(true);
    expect(bars.n).toBe(bars.tasks);
    expect(bars.n).toBeGreaterThan(0);
    expect(bars.n).toBeLessThanOrEqual(EXACT_MAX_BARS);
    const expected = new Set<number>();
    for (let i = 0; i < big.size; i++) if (big.start[i] <= view.end && big.end[i] >= view.start) expected.add(i);
    const drawn = new Set(Array.from(bars.task.subarray(0, bars.n)));
    expect(drawn).toEqual(expected);
  });

  it("puts each lane on its row, folding lanes in order when there are too many", () => {
    const store = storeOf(syntheticEvents({ tasks: 400, lanes: 40 }));
    const view = extent(store);
    const bars = layoutTasks(store, { view, width: 4000, maxRows: 10, openEnd: 0, jobEnded: true });
    expect(bars.rows).toBe(10);
    for (let b = 0; b < bars.n; b++) {
      const i = bars.task[b];
      if (i < 0) continue;
      expect(bars.row[b]).toBe(Math.floor((store.laneRank[store.lane[i]] * 10) / 40));
    }
  });

  it("draws running tasks to the open end, as lost once the job has ended", () => {
    const store = storeOf(syntheticEvents({ tasks: 20, lanes: 2, running: 2 }));
    const view = { start: ORIGIN, end: ORIGIN + 100 };
    const live = layoutTasks(store, { view, width: 500, maxRows: 2, openEnd: ORIGIN + 50, jobEnded: false });
    const open = Array.from({ length: live.n }, (_, b) => b).filter((b) => live.running[b]);
    expect(open).toHaveLength(2);
    for (const b of open) expect(live.t1[b]).toBe(ORIGIN + 50);
    const ended = layoutTasks(store, { view, width: 500, maxRows: 2, openEnd: ORIGIN + 50, jobEnded: true });
    expect(Array.from(ended.status.subarray(0, ended.n)).filter((s) => s === STATUS_LOST)).toHaveLength(2);
  });

  it("finds the bar under the pointer", () => {
    const store = storeOf(syntheticEvents({ tasks: 30, lanes: 3 }));
    const bars = layoutTasks(store, { view: extent(store), width: 1000, maxRows: 3, openEnd: 0, jobEnded: true });
    const b = 4;
    const hit = hitTest(bars, bars.row[b], (bars.t0[b] + bars.t1[b]) / 2, 0);
    expect(hit).toBe(b);
    expect(hitTest(bars, bars.row[b], ORIGIN - 1000, 0.001)).toBe(-1);
  });
});

describe("layout: server or local", () => {
  it("draws local events only once a live socket has caught up", () => {
    expect(chooseSource({ synced: true })).toBe("local");
    expect(chooseSource({ synced: false })).toBe("server");
  });

  it("asks the server again only when the view leaves the window or needs more detail", () => {
    const fetched = { start: 0, end: 100, secondsPerPixel: 0.1, exact: false };
    expect(needsFetch({ start: 10, end: 60 }, 0.1, null)).toBe(true);
    expect(needsFetch({ start: 10, end: 60 }, 0.1, fetched)).toBe(false);
    expect(needsFetch({ start: 10, end: 60 }, 0.12, fetched)).toBe(false); // zoomed out a little
    expect(needsFetch({ start: 10, end: 20 }, 0.01, fetched)).toBe(true); // zoomed in past its resolution
    expect(needsFetch({ start: 90, end: 140 }, 0.1, fetched)).toBe(true); // panned out of it
    expect(needsFetch({ start: 10, end: 11 }, 0.0001, { ...fetched, exact: true })).toBe(false);
  });

  it("converts a timeline response into bars by row", () => {
    const response: TimelineResponse = {
      window: { start: 0, end: 10, width: 100, seconds_per_pixel: 0.1 },
      now: 10,
      exact: false,
      tasks: 6,
      lanes: 2,
      rows: [{ index: 0, label: "pid 1", lanes: ["pid 1"] }, { index: 1, label: "pid 2", lanes: ["pid 2"] }],
      groups: [],
      bars: [
        { row: 0, lane: "pid 1", start: 0, end: 1, count: 1, status: "finished", statuses: { finished: 1 }, key: "a", group: "g", phase: "task", seq: 1 },
        { row: 1, lane: "pid 2", start: 0, end: 5, count: 4, status: "failed", statuses: { finished: 3, failed: 1 }, key: null, group: "g", phase: "task", seq: null },
        { row: 0, lane: "pid 1", start: 2, end: 3, count: 1, status: "running", statuses: { running: 1 }, key: "c", group: "g", phase: null, seq: 3 },
      ],
    };
    const bars = barsFromTimeline(response, true);
    expect(bars.n).toBe(3);
    expect(Array.from(bars.rowStart)).toEqual([0, 2, 3]);
    expect(bars.key).toEqual(["a", "c", null]);
    expect(bars.status[1]).toBe(STATUS_LOST);
    expect(bars.failed[2]).toBe(1);
    expect(bars.status[2]).toBe(STATUS_FINISHED); // dominant status; the failure is drawn as a strip
    expect(bars.exact).toBe(false);
  });
});
