// What a line of output says about itself: its log level, or that it belongs to a Python traceback. Colour comes
// from this, not from the stream: Lithops (and Python's logging) write their normal INFO lines to stderr, so a
// red stderr would make every successful run look failed.

/** A line's level: NONE when it names none (stderr of that kind gets a subtle marker, not a colour). */
export const NONE = 0;
export const INFO = 1; // DEBUG and INFO: nothing to look at
export const WARNING = 2;
export const ERROR = 3; // ERROR, CRITICAL, FATAL, and every line of a traceback
export type Level = typeof NONE | typeof INFO | typeof WARNING | typeof ERROR;

/** CSS class of each level (theme.css colours them). */
export const LEVEL_CLASS: Record<Level, string> = { 0: "", 1: " level-info", 2: " level-warning", 3: " level-error" };

const NAMES = "DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL";
// The places a logging library puts the level, so that a word "error" in the middle of a sentence is not one:
// "[INFO]" (Lithops), "WARNING:root:" or "ERROR " at the start (Python's default, uvicorn), " - INFO - "
// (distributed), "| INFO |" (loguru), or right after a leading timestamp.
const LEVEL = new RegExp(
  [
    `\\[(${NAMES})\\]`,
    `^(${NAMES})(?::|\\s)`,
    `\\s-\\s(${NAMES})\\s-\\s`,
    `\\|\\s*(${NAMES})\\s*\\|`,
    `^\\d{4}-\\d\\d-\\d\\d[T ][\\d:.,]+\\S*\\s+(${NAMES})\\b`,
  ].join("|"),
);
const LEVEL_OF: Record<string, Level> = {
  DEBUG: INFO, INFO, WARNING, WARN: WARNING, ERROR, CRITICAL: ERROR, FATAL: ERROR,
}; // prettier-ignore
const LOOK_CHARS = 200; // the level is near the start; a long line is not searched through

// "Traceback (most recent call last):", also inside an exception group ("  + Exception Group Traceback ...").
const TRACEBACK_START = /^[\s|+]*(?:Exception Group )?Traceback \(most recent call last\):/;
// Between two tracebacks of a chained exception.
const CHAINED = /^(?:During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)\s*$/;
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;
// What a Lithops task printed comes on the "task" stream with its task in front (monitoring/task_output.py): the
// level or traceback is in the rest of the line. A task's lines arrive together, so one tracker state still fits.
const TASK_PREFIX = /^\[task [^\]\n]*\] /;

/** The text a reader sees: without ANSI codes, after the last carriage return (a progress bar's last state), and
 * without the task that printed it. */
function plain(text: string): string {
  const trimmed = text.endsWith("\r") ? text.slice(0, -1) : text;
  const from = trimmed.lastIndexOf("\r") + 1;
  let shown = trimmed.slice(from, from + LOOK_CHARS);
  if (shown.startsWith("[task ")) shown = shown.replace(TASK_PREFIX, "");
  return shown.includes("\u001b") ? shown.replace(ANSI, "") : shown;
}

/** The level a line names by itself (no traceback context). */
export function levelOf(text: string): Level {
  const found = LEVEL.exec(plain(text));
  if (!found) return NONE;
  const name = found.slice(1).find((group) => group !== undefined)!;
  return LEVEL_OF[name];
}

/** Classifies the lines of one output in order, each stream on its own: a traceback runs from its
 * "Traceback (most recent call last):" through its indented frames to the exception line, all ERROR. */
export class LevelTracker {
  // Per stream code: inside a traceback, waiting for its exception line.
  private inTraceback: boolean[] = [];

  /** Whether `stream` is inside a traceback now (to classify a line again once it grows). */
  state(stream: number): boolean {
    return this.inTraceback[stream] ?? false;
  }

  /** The level of the next line of `stream`, from `before` (a state() taken earlier) when given. */
  classify(text: string, stream: number, before?: boolean): Level {
    const shown = plain(text);
    const open = before ?? this.state(stream);
    if (TRACEBACK_START.test(shown)) {
      this.inTraceback[stream] = true;
      return ERROR;
    }
    if (open && shown !== "") {
      // Frames and source lines are indented; the first line that is not is the exception.
      this.inTraceback[stream] = /^\s/.test(shown);
      return ERROR;
    }
    this.inTraceback[stream] = false;
    if (CHAINED.test(shown)) return ERROR;
    return levelOf(text);
  }

  reset(): void {
    this.inTraceback = [];
  }
}
