import { compareLanes, foldRows, rowOfRank, SlotPacker } from "./lanes";
import { rng } from "./testing";

describe("lanes", () => {
  it("orders lanes naturally like the server", () => {
    const lanes = ["slot 10", "slot 2", "pid 300", "slot 1", "pid 40", "tcp://h:9 #1", "tcp://h:10 #0"];
    expect([...lanes].sort(compareLanes)).toEqual([
      "pid 40", "pid 300", "slot 1", "slot 2", "slot 10", "tcp://h:9 #1", "tcp://h:10 #0",
    ]);
  });

  it("folds many lanes into contiguous rows of nearly equal size", () => {
    const lanes = Array.from({ length: 10 }, (_, i) => `slot ${i + 1}`);
    const rows = foldRows(lanes, 4);
    expect(rows.map((r) => r.lanes.length)).toEqual([3, 2, 3, 2]);
    expect(rows.flatMap((r) => r.lanes)).toEqual(lanes);
    expect(rows[0].label).toBe("slot 1 … slot 3 (3 lanes)");
    expect(foldRows(lanes, 20).map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let rank = 1; rank < 1000; rank++) {
      expect(rowOfRank(rank, 1000, 7)).toBeGreaterThanOrEqual(rowOfRank(rank - 1, 1000, 7));
    }
    expect(rowOfRank(999, 1000, 7)).toBe(6);
  });

  it("packs lane-less tasks so that no two bars of a slot overlap (randomised)", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = rng(seed);
      const packer = new SlotPacker();
      const placed = new Map<string, [number, number][]>();
      const open: { id: string; start: number }[] = [];
      let t = 0;
      for (let k = 0; k < 300; k++) {
        t += random() * 0.3;
        const id = `t${k}`;
        if (random() < 0.3) {
          // Opens now, finishes later (a running event, then its finished event).
          packer.place(id, t, null);
          open.push({ id, start: t });
        } else {
          const end = t + random() * 2;
          const lane = packer.place(id, t, end);
          placed.set(lane, [...(placed.get(lane) ?? []), [t, end]]);
        }
        if (open.length && random() < 0.4) {
          const { id: done, start } = open.shift()!;
          const end = Math.max(start, t) + random();
          const lane = packer.place(done, start, end);
          placed.set(lane, [...(placed.get(lane) ?? []), [start, end]]);
        }
      }
      for (const intervals of placed.values()) {
        intervals.sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < intervals.length; i++) expect(intervals[i][0]).toBeGreaterThanOrEqual(intervals[i - 1][1]);
      }
    }
  });

  it("keeps a running task's slot for its finished event", () => {
    const packer = new SlotPacker();
    expect(packer.place("a", 0, null)).toBe("slot 1");
    expect(packer.place("b", 1, 2)).toBe("slot 2");
    expect(packer.place("a", 0, 3)).toBe("slot 1");
    expect(packer.place("c", 3, 4)).toBe("slot 1");
  });
});
