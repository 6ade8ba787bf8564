import { clampView, fitView, formatBytes, formatDuration, niceTicks, pan, toT, toX, zoomAround } from "./scale";

describe("scale", () => {
  it("maps time to pixels and back", () => {
    const view = { start: 100, end: 200 };
    expect(toX(150, view, 1000)).toBe(500);
    expect(toT(250, view, 1000)).toBe(125);
  });

  it("zooms around the cursor and keeps that time under it", () => {
    const view = { start: 0, end: 100 };
    const next = zoomAround(view, 25, 4);
    expect(next.end - next.start).toBeCloseTo(25);
    expect(toX(25, next, 1000)).toBeCloseTo(toX(25, view, 1000));
    const out = zoomAround(next, 25, 1 / 100, { start: 0, end: 100 });
    expect(out).toEqual({ start: 0, end: 100 });
  });

  it("pans within the limits", () => {
    expect(pan({ start: 10, end: 20 }, 100, { start: 0, end: 50 })).toEqual({ start: 40, end: 50 });
    expect(clampView({ start: -5, end: 5 }, { start: 0, end: 50 })).toEqual({ start: 0, end: 10 });
    const fit = fitView(0, 100);
    expect(fit.start).toBeLessThan(0);
    expect(fit.end).toBeGreaterThan(100);
  });

  it("picks nice ticks at least minPx apart, aligned on the origin", () => {
    for (const span of [0.003, 0.7, 12, 95, 1000, 7200, 200000]) {
      const view = { start: 1000 + span * 0.13, end: 1000 + span * 1.13 };
      const { step, ticks } = niceTicks(view, 1000, 1000, 80);
      expect((step / span) * 1000).toBeGreaterThanOrEqual(80 - 1e-6);
      expect(ticks.length).toBeGreaterThan(1);
      expect(ticks.length).toBeLessThanOrEqual(13);
      for (const t of ticks) {
        expect(t).toBeGreaterThanOrEqual(view.start - 1e-9);
        expect(t).toBeLessThanOrEqual(view.end + 1e-9);
        const k = (t - 1000) / step;
        expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-6);
      }
    }
  });

  it("formats durations and bytes for people", () => {
    expect(formatDuration(0.0123)).toBe("12 ms");
    expect(formatDuration(1.523)).toBe("1.52 s");
    expect(formatDuration(185)).toBe("3 m 05 s");
    expect(formatDuration(7800)).toBe("2 h 10 m");
    expect(formatDuration(null)).toBe("–");
    expect(formatDuration(30, 15)).toBe("30 s");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(50 * 1024 ** 2)).toBe("50.0 MiB");
  });
});
