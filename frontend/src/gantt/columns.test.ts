import { fromColumns, sliceColumns, toColumns } from "./columns";
import { STATUS_FINISHED, TaskStore } from "./store";
import { rng, syntheticEvents } from "./testing";
import type { TaskEvent } from "./types";

/** A messy history: running then ending events, Dask phases, events without a lane, errors, figures, shuffled
 * within reach of each other and with a few duplicates, as pages and reconnects can deliver them. */
function history(seed: number): TaskEvent[] {
  const random = rng(seed);
  const events: TaskEvent[] = [];
  let seq = 0;
  for (let t = 0; t < 400; t++) {
    const key = `g/${t}`;
    const phase = t % 5 === 0 ? "transfer" : t % 7 === 0 ? "compute" : "task";
    const lane = t % 3 === 0 ? "" : `pid ${t % 4}`;
    const start = 100 + random() * 50;
    events.push({ seq: ++seq, framework: "lithops", group: `g${t % 3}`, key, phase, status: "running", lane, start,
      end: null, error: "", figures: {} }); // prettier-ignore
    if (t % 11 === 0) continue; // still running
    const failed = t % 13 === 0;
    events.push({ seq: ++seq, framework: "dask", group: `g${t % 3}`, key, phase, status: failed ? "failed" : "finished",
      lane, start: start + 0.01, end: start + 1 + random(), error: failed ? `ValueError: ${t}` : "",
      figures: t % 2 ? { cpu: random(), cold: t < 10 } : {} }); // prettier-ignore
  }
  for (let k = 0; k < events.length; k++) {
    const j = Math.min(events.length - 1, k + Math.floor(random() * 6));
    [events[k], events[j]] = [events[j], events[k]];
  }
  return [...events, ...events.slice(0, 30)];
}

const records = (store: TaskStore) => Array.from({ length: store.size }, (_, i) => store.record(i));

describe("task history as columns", () => {
  it("merges into the same tasks as the events would, page by page", () => {
    for (let seed = 1; seed <= 4; seed++) {
      const events = history(seed);
      const byEvents = new TaskStore();
      const byColumns = new TaskStore();
      for (let k = 0; k < events.length; k += 97) {
        byEvents.merge(events.slice(k, k + 97));
        byColumns.mergeColumns(toColumns(events.slice(k, k + 97)));
      }
      expect(byColumns.size).toBe(byEvents.size);
      expect(records(byColumns)).toEqual(records(byEvents));
      expect(byColumns.lastSeq).toBe(byEvents.lastSeq);
      expect([...byColumns.running].sort()).toEqual([...byEvents.running].sort());
      expect(byColumns.lanes).toEqual(byEvents.lanes);
      const view = { start: 90, end: 200 };
      expect(byColumns.cullRange(view.start, view.end, 200)).toEqual(byEvents.cullRange(view.start, view.end, 200));
    }
  });

  it("lets a live event end a task the history left running, with the live event's figures", () => {
    const store = new TaskStore();
    store.mergeColumns(toColumns([
      { seq: 1, framework: "lithops", group: "g", key: "a", phase: "task", status: "finished", lane: "pid 1",
        start: 1, end: 2, error: "", figures: { cpu: 10 } },
      { seq: 2, framework: "lithops", group: "g", key: "b", phase: "task", status: "running", lane: "pid 2",
        start: 1, end: null, error: "", figures: {} },
    ])); // prettier-ignore
    expect(store.record(0).figures).toEqual({ cpu: 10 });
    expect(store.record(1).figures).toEqual({});
    expect(store.running.has(1)).toBe(true);
    store.merge([{ seq: 3, framework: "lithops", group: "g", key: "b", phase: "task", status: "finished",
      lane: "pid 2", start: 1, end: 4, error: "", figures: { cpu: 99 } }]); // prettier-ignore
    expect(store.size).toBe(2);
    expect(store.status[1]).toBe(STATUS_FINISHED);
    expect(store.record(1)).toMatchObject({ end: 4, figures: { cpu: 99 } });
    expect(store.running.size).toBe(0);
  });

  it("round-trips events, and a slice keeps the rows after a cut", () => {
    const events = syntheticEvents({ tasks: 300, lanes: 5, failEvery: 7, running: 4 });
    const columns = toColumns(events);
    expect(fromColumns(columns)).toEqual(events);
    expect(fromColumns(sliceColumns(columns, 120))).toEqual(events.slice(120));
  });
});
