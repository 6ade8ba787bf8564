// Pure helpers of the IDE's navigation: the quick-open filter, Python traceback lines as workspace locations,
// and the problems a run's last traceback points at. No React, no Monaco: tested in navigation.test.ts.

/** Where a job's script sees the workspace (pyrun_web/sandbox WORKDIR): `/workspace/src/a.py` is `src/a.py`. */
export const SANDBOX_WORKDIR = "/workspace/";

export interface Location {
  path: string; // workspace-relative
  line: number; // 1-based
}

/** A fuzzy match of `query` in `path`: every query character in order, case-insensitive. Higher scores are
 * better: matches in the file name, at word starts and in runs beat scattered ones; shorter paths break ties.
 * null when it does not match. */
export function fuzzyScore(path: string, query: string): number | null {
  const q = query.replace(/\s+/g, "").toLowerCase();
  if (!q) return 0;
  const p = path.toLowerCase();
  const nameStart = path.lastIndexOf("/") + 1;
  let score = 0;
  let from = 0;
  let previous = -2;
  for (const ch of q) {
    const at = p.indexOf(ch, from);
    if (at < 0) return null;
    let points = 1;
    if (at === previous + 1) points += 3; // a run of consecutive characters
    if (at >= nameStart) points += 2; // in the file name rather than its folders
    if (at === 0 || "/_-. ".includes(p[at - 1])) points += 2; // a word start
    score += points;
    previous = at;
    from = at + 1;
  }
  return score * 1000 - path.length;
}

/** The paths matching `query`, best first, at most `limit`. */
export function fuzzyFilter(paths: readonly string[], query: string, limit = 50): string[] {
  const scored: [string, number][] = [];
  for (const path of paths) {
    const score = fuzzyScore(path, query);
    if (score !== null) scored.push([path, score]);
  }
  scored.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return scored.slice(0, limit).map(([path]) => path);
}

// `  File "/workspace/main.py", line 12, in <module>` (Python's traceback frame line), also as a Lithops task's
// output copied into the run's Output, prefixed with its task: `[task M000/3]   File "/workspace/…", line 4`.
const FRAME = /^((?:\[task [^\]]+\] )?\s*File ")([^"]+)(", line )(\d+)/;

/** The workspace path of a file named in a traceback, or null when it is not a workspace file (the
 * interpreter's own modules, site-packages, `<string>`). Relative names count only when `known` lists them. */
export function workspacePath(file: string, known?: ReadonlySet<string>): string | null {
  const inSandbox = file.startsWith(SANDBOX_WORKDIR);
  if (!inSandbox && (file.startsWith("/") || file.startsWith("<") || !known)) return null;
  const rel = inSandbox ? file.slice(SANDBOX_WORKDIR.length) : file.replace(/^\.\//, "");
  if (!rel || rel.split("/").some((part) => part === ".." || part === "." || part === "")) return null;
  if (known && !known.has(rel)) return null;
  return rel;
}

export interface FrameLink extends Location {
  start: number; // where the link starts in the line (the quoted file name and line number)
  end: number;
}

/** The `File "…", line N` of a traceback line as a link into the workspace, or null. */
export function frameLink(text: string, known?: ReadonlySet<string>): FrameLink | null {
  const match = FRAME.exec(text);
  if (!match) return null;
  const path = workspacePath(match[2], known);
  if (path === null) return null;
  const start = match[1].length - 1; // from the opening quote
  return { path, line: Number(match[4]), start, end: match[0].length };
}

export interface Problem extends Location {
  message: string; // the exception line, e.g. `ValueError: bad input`
}

/** The frames of the last traceback in `lines` that are in workspace files, each with the exception's line as
 * its message (what the editor marks). Empty when there is no traceback. */
export function lastTracebackProblems(lines: readonly string[], known?: ReadonlySet<string>): Problem[] {
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].startsWith("Traceback (most recent call last):")) {
      start = i;
      break;
    }
  }
  if (start < 0) return [];
  const frames: Location[] = [];
  let message = "";
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i];
    const frame = FRAME.exec(line);
    if (frame) {
      const path = workspacePath(frame[2], known);
      if (path !== null) frames.push({ path, line: Number(frame[4]) });
    } else if (line && !/^\s/.test(line)) {
      message = line.trim(); // the first unindented line after the frames: `ValueError: bad input`
      break;
    }
  }
  if (!message) message = "The run raised an exception here.";
  // One marker per place: a recursive function repeats its frame.
  const seen = new Set<string>();
  return frames
    .filter((f) => !seen.has(`${f.path}:${f.line}`) && !!seen.add(`${f.path}:${f.line}`))
    .map((f) => ({ ...f, message }));
}
