// The Output panel's filters and search over a LogBuffer's lines: pure functions (tested in outputFilter.test.ts).
import type { Line } from "./logBuffer";

/** The streams a run's output has: the script's stdout/stderr, the platform's lines, and its tasks' output. */
export const OUTPUT_STREAMS = ["stdout", "stderr", "system", "task"] as const;
export type OutputStream = (typeof OUTPUT_STREAMS)[number];
/** How the stream menu names each stream. */
export const STREAM_LABELS: Record<OutputStream, string> = {
  stdout: "stdout",
  stderr: "stderr",
  system: "platform",
  task: "task output",
};

/** A predicate keeping the lines that contain `text` (case-insensitive) and come from `stream` ("" = any), or
 * null when nothing is filtered (the view then shows every line without scanning them). */
export function lineFilter(text: string, stream: string): ((line: Line) => boolean) | null {
  const needle = text.toLowerCase();
  if (!needle && !stream) return null;
  return (line) => (!stream || line.stream === stream) && (!needle || line.text.toLowerCase().includes(needle));
}

/** The indices of the lines containing `query` (case-insensitive) among those the filter keeps. */
export function matchingIndices(lines: readonly Line[], query: string, keep: ((line: Line) => boolean) | null): number[] {
  const needle = query.toLowerCase();
  if (!needle) return [];
  const out: number[] = [];
  lines.forEach((line, index) => {
    if ((!keep || keep(line)) && line.text.toLowerCase().includes(needle)) out.push(index);
  });
  return out;
}

/** The next (or previous) match after the current one, wrapping around; null when there is none. */
export function stepMatch(matches: readonly number[], current: number | null, backwards = false): number | null {
  if (!matches.length) return null;
  if (current === null) return backwards ? matches[matches.length - 1] : matches[0];
  if (backwards) {
    for (let i = matches.length - 1; i >= 0; i--) if (matches[i] < current) return matches[i];
    return matches[matches.length - 1];
  }
  for (const index of matches) if (index > current) return index;
  return matches[0];
}
