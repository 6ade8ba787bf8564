import { STATUS_FAILED, STATUS_FINISHED, STATUS_RUNNING, TaskStore } from "./store";
import { rng, syntheticEvents } from "./testing";
import type { TaskEvent } from "./types";

function ev(seq: number, key: string, status: string, start: number, end: number | null, lane = "pid 1"): TaskEvent {
  return { seq, framework: "lithops", group: "g", key, phase: "task", status, lane, start, end, error: "", figures: {} };
}

describe("task store (live merge)", () => {
  it("replaces a running event with its finished event", () => {
    const store = new TaskStore();
    store.merge([ev(1, "a", "running", 10, null)]);
    expect(store.size).toBe(1);
    expect(store.status[0]).toBe(STATUS_RUNNING);
    expect(store.running.has(0)).toBe(true);
    store.merge([ev(2, "a", "finished", 10.1, 12)]);
    expect(store.size).toBe(1);
    expect(store.status[0]).toBe(STATUS_FINISHED);
    expect(store.start[0]).toBe(10.1);
    expect(store.end[0]).toBe(12);
    expect(store.running.size).toBe(0);
    expect(store.lastSeq).toBe(2);
  });

  it("never lets a running event replace an ending one, whatever the order", () => {
    const store = new TaskStore();
    store.merge([ev(5, "a", "failed", 1, 2), ev(4, "a", "running", 1, null), ev(6, "a", "running", 1, null)]);
    expect(store.size).toBe(1);
    expect(store.status[0]).toBe(STATUS_FAILED);
    expect(store.record(0).end).toBe(2);
  });

  it("drops duplicates and keeps the latest seq of the same kind", () => {
    const store = new TaskStore();
    const events = [ev(1, "a", "running", 1, null), ev(2, "b", "finished", 2, 3)];
    expect(store.merge(events)).toBe(2);
    const version = store.version;
    expect(store.merge(events)).toBe(0); // a reconnect that replays what was seen
    expect(store.version).toBe(version);
    store.merge([ev(9, "b", "finished", 2, 5), ev(7, "b", "finished", 2, 4)]);
    expect(store.end[1]).toBe(5);
  });

  it("keeps phases of one key apart", () => {
    const store = new TaskStore();
    store.merge([ev(1, "x", "finished", 1, 2), { ...ev(2, "x", "finished", 2, 3), phase: "transfer" }]);
    expect(store.size).toBe(2);
  });

  it("packs events without a lane into slots", () => {
    const store = new TaskStore();
    store.merge([ev(1, "a", "finished", 0, 2, ""), ev(2, "b", "finished", 1, 3, ""), ev(3, "c", "finished", 2, 4, "")]);
    expect(store.record(0).lane).toBe("slot 1");
    expect(store.record(1).lane).toBe("slot 2");
    expect(store.record(2).lane).toBe("slot 1");
  });

  it("keeps its start order through appends, moves and re-sorts (randomised)", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const random = rng(seed);
      const store = new TaskStore();
      let seq = 0;
      for (let round = 0; round < 30; round++) {
        const batch: TaskEvent[] = [];
        const size = Math.floor(random() * (round === 10 ? 5000 : 200));
        for (let k = 0; k < size; k++) {
          const key = `k${Math.floor(random() * 3000)}`;
          const start = random() * 100;
          batch.push(ev(++seq, key, random() < 0.5 ? "running" : "finished", start, start + random()));
        }
        store.merge(batch);
        store.ensureOrder();
        const seen = new Set<number>();
        let wrong = 0;
        for (let k = 0; k < store.size; k++) {
          const i = store.order[k];
          seen.add(i);
          if (store.sortedStart[k] !== store.start[i]) wrong++;
          if (k && store.sortedStart[k] < store.sortedStart[k - 1]) wrong++;
        }
        expect(wrong).toBe(0);
        expect(seen.size).toBe(store.size);
      }
    }
  });

  it("culls by binary search without missing a long task that started before the window", () => {
    const store = new TaskStore();
    store.merge(syntheticEvents({ tasks: 2000, lanes: 8, meanDuration: 1 }));
    store.merge([ev(99999, "long", "finished", 1_700_000_000, 1_700_000_900)]);
    const t0 = 1_700_000_100;
    const t1 = 1_700_000_110;
    const [lo, hi] = store.cullRange(t0, t1, 0);
    const inRange = new Set(Array.from(store.order.subarray(lo, hi)));
    for (let i = 0; i < store.size; i++) {
      const overlaps = store.start[i] <= t1 && store.end[i] >= t0;
      if (overlaps) expect(inRange.has(i)).toBe(true);
    }
    expect(hi - lo).toBeLessThan(store.size);
  });
});
