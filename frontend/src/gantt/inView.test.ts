import { barsFromTimeline, layoutTasks, tasksInView } from "./layout";
import { TaskStore } from "./store";
import { syntheticEvents } from "./testing";
import type { TimelineResponse } from "./types";

describe('"N in view"', () => {
  it("counts the tasks of the visible window, not of the window the server answered for", () => {
    const bar = (row: number, start: number, end: number, count: number, key: string | null) => ({
      row, lane: null, start, end, count, status: "finished", statuses: { finished: count }, key, group: "g",
      phase: "task", seq: null,
    }); // prettier-ignore
    const response: TimelineResponse = {
      window: { start: 0, end: 100, width: 100, seconds_per_pixel: 1 },
      now: 100,
      exact: false,
      tasks: 10,
      lanes: 1,
      rows: [{ index: 0, label: "pid 1", lanes: ["pid 1"] }],
      groups: [],
      bars: [bar(0, 0, 10, 1, "a"), bar(0, 20, 30, 5, null), bar(0, 60, 70, 4, null)],
    };
    const bars = barsFromTimeline(response, true);
    expect(tasksInView(bars, { start: 0, end: 100 })).toBe(10);
    expect(tasksInView(bars, { start: 0, end: 15 })).toBe(1); // zoomed in on the first task
    expect(tasksInView(bars, { start: 25, end: 65 })).toBe(9); // merged bars reaching in count whole
    expect(tasksInView(bars, { start: 40, end: 50 })).toBe(0);
  });

  it("changes with the zoom on local tasks", () => {
    const store = new TaskStore();
    store.merge(syntheticEvents({ tasks: 1000, lanes: 4, meanDuration: 1 }));
    let last = -Infinity;
    for (let i = 0; i < store.size; i++) last = Math.max(last, store.endOf(i, 0));
    const whole = { start: store.firstStart, end: last };
    const options = { width: 800, maxRows: 4, openEnd: 0, jobEnded: true };
    expect(tasksInView(layoutTasks(store, { ...options, view: whole }), whole)).toBe(1000);
    const tenth = { start: whole.start, end: whole.start + (whole.end - whole.start) / 10 };
    const zoomed = tasksInView(layoutTasks(store, { ...options, view: tenth }), tenth);
    expect(zoomed).toBeGreaterThan(50);
    expect(zoomed).toBeLessThan(200);
  });
});
