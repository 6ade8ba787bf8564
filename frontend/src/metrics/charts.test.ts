import { rng } from "../gantt/testing";
import { concurrency, concurrencyFromBars, countTicks, histogram, histogramFromRanks, niceMax } from "./charts";

describe("metrics series", () => {
  it("computes concurrency as time-weighted tasks open per bucket", () => {
    // Two tasks overlapping on [1, 2): one open on [0, 1), two on [1, 2), one on [2, 3), none after.
    const points = concurrency([0, 1], [2, 3], 2, 0, 4, 4);
    expect(points.map((p) => p.v)).toEqual([1, 2, 1, 0]);
    expect(points[0].t).toBe(0.5);
    // A task covering half a bucket counts half.
    expect(concurrency([0.5], [1], 1, 0, 2, 2).map((p) => p.v)).toEqual([0.5, 0]);
  });

  it("conserves task-seconds whatever the bucket count (randomised)", () => {
    const random = rng(7);
    const starts: number[] = [];
    const ends: number[] = [];
    let total = 0;
    for (let i = 0; i < 500; i++) {
      const s = random() * 100;
      const d = random() * 10;
      starts.push(s);
      ends.push(s + d);
      total += Math.min(s + d, 110) - s;
    }
    for (const buckets of [1, 7, 200]) {
      const points = concurrency(starts, ends, starts.length, 0, 110, buckets);
      const area = points.reduce((sum, p) => sum + (p.v * 110) / buckets, 0);
      expect(area).toBeCloseTo(total, 6);
    }
  });

  it("counts busy lanes from the server's bars", () => {
    const bars = [
      { row: 0, start: 0, end: 2, count: 3 },
      { row: 1, start: 1, end: 2, count: 1 },
      { row: 2, start: 0, end: 2, count: 10 }, // a row of 2 lanes: at most 2 tasks at once
    ];
    const points = concurrencyFromBars(bars, [1, 1, 2], 0, 2, 2);
    expect(points.map((p) => p.v)).toEqual([3, 4]);
  });

  it("bins durations and keeps every value", () => {
    const hist = histogram([0, 1, 1, 2, 10], 5);
    expect(hist.counts).toEqual([3, 1, 0, 0, 1]);
    expect(hist.edges).toHaveLength(6);
    expect(hist.counts.reduce((a, b) => a + b)).toBe(5);
    expect(histogram([], 5).counts).toEqual([]);
  });

  it("rebuilds a histogram from ranks: exact with every value, conserving the total when sampled", () => {
    const random = rng(3);
    const values = Array.from({ length: 1000 }, () => random() ** 2 * 10).sort((a, b) => a - b);
    const all = histogramFromRanks(values.map((value, rank) => [rank, value]), values.length, 20);
    expect(all.counts).toEqual(histogram(values, 20).counts);
    const sampled: [number, number][] = [0, 100, 250, 500, 750, 900, 999].map((rank) => [rank, values[rank]]);
    const approx = histogramFromRanks(sampled, values.length, 20);
    expect(approx.counts.reduce((a, b) => a + b)).toBeCloseTo(1000, 6);
    const exact = histogram(values, 20).counts;
    // The shape survives: the first bins hold most tasks in both.
    expect(approx.counts[0] + approx.counts[1]).toBeGreaterThan(exact[0] + exact[1] - 120);
    expect(approx.counts[0] + approx.counts[1]).toBeLessThan(exact[0] + exact[1] + 120);
  });

  it("rounds axis maxima up to nice numbers", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(3)).toBe(5);
    expect(niceMax(0.07)).toBeCloseTo(0.1);
    expect(niceMax(2300)).toBe(2500);
  });

  it("gives the histogram's count axis whole numbers only", () => {
    expect(countTicks(2)).toEqual([0, 1, 2]); // was 0, 0.5, 1, 1.5, 2
    expect(countTicks(1)).toEqual([0, 1]);
    expect(countTicks(0)).toEqual([0, 1]);
    expect(countTicks(2.4)).toEqual([0, 1, 2, 3]); // counts interpolated from ranks
    expect(countTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(countTicks(37)).toEqual([0, 10, 20, 30, 40]);
    for (let max = 0; max < 3000; max += 7) {
      const ticks = countTicks(max);
      expect(ticks.every(Number.isInteger)).toBe(true);
      expect(ticks.length).toBeLessThanOrEqual(5);
      expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(max);
    }
  });
});
