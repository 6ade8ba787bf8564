import { describe, expect, it } from "vitest";
import type { Line } from "./logBuffer";
import { lineFilter, matchingIndices, stepMatch } from "./outputFilter";

const line = (number: number, stream: string, text: string) => ({ number, stream, text, level: "" }) as unknown as Line;
const lines = [
  line(1, "system", "Run started"),
  line(2, "stdout", "loading DATA"),
  line(3, "stderr", "warning: data is old"),
  line(4, "task", "task 3: data ok"),
  line(5, "stdout", "done"),
];

describe("the Output panel's filter", () => {
  it("keeps lines holding the text, case-insensitively, from the chosen stream", () => {
    const keep = (f: ((l: Line) => boolean) | null) => lines.filter((l) => !f || f(l)).map((l) => l.number);
    expect(lineFilter("", "")).toBeNull();
    expect(keep(lineFilter("data", ""))).toEqual([2, 3, 4]);
    expect(keep(lineFilter("data", "stderr"))).toEqual([3]);
    expect(keep(lineFilter("", "task"))).toEqual([4]);
    expect(keep(lineFilter("", "system"))).toEqual([1]);
  });
});

describe("finding in the output", () => {
  it("lists the matching lines among the kept ones and steps through them, wrapping around", () => {
    const matches = matchingIndices(lines, "DATA", null);
    expect(matches).toEqual([1, 2, 3]);
    expect(matchingIndices(lines, "data", lineFilter("", "stdout"))).toEqual([1]);
    expect(stepMatch(matches, null)).toBe(1);
    expect(stepMatch(matches, 1)).toBe(2);
    expect(stepMatch(matches, 3)).toBe(1);
    expect(stepMatch(matches, 1, true)).toBe(3);
    expect(stepMatch([], null)).toBeNull();
  });
});
