// A page of task events as columns: how the job socket sends the history to a client that asks for
// `tasks_format=columns` (monitoring/live.py `task_columns`, docs/live.md). A browser parses arrays of numbers
// several times faster than as many objects, and the store merges them without an object per event.

import type { TaskEvent } from "./types";

/** Strings that repeat from event to event, named once: row r's value is `names[index[r]]` (`names[0]` when
 * there is no index: a page with one value). */
export interface NamedColumn {
  names: string[];
  index?: number[];
}

export interface TaskColumns {
  n: number;
  seq: number[];
  key: string[];
  start: number[];
  end: (number | null)[];
  framework: NamedColumn;
  group: NamedColumn;
  phase: NamedColumn;
  status: NamedColumn;
  lane: NamedColumn;
  error: [number, string][]; // [row, text] of the rows with an error, rows ascending
  figures: { names: string[]; values: unknown[][] }; // a column per figure name, null where a task has none
}

export const nameAt = (column: NamedColumn, row: number): string => column.names[column.index ? column.index[row] : 0];

/** The figures of `row` (a fresh object), or undefined when it has none. */
export function figuresAt(figures: TaskColumns["figures"], row: number): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (let f = 0; f < figures.names.length; f++) {
    const value = figures.values[f][row];
    if (value !== null && value !== undefined) (out ??= {})[figures.names[f]] = value;
  }
  return out;
}

function named(values: string[]): NamedColumn {
  const ids = new Map<string, number>();
  const index = values.map((value) => {
    let id = ids.get(value);
    if (id === undefined) ids.set(value, (id = ids.size));
    return id;
  });
  return ids.size > 1 ? { names: [...ids.keys()], index } : { names: [...ids.keys()] };
}

/** Events as the server's columns (the bench and tests; the server's encoder is monitoring/live.py). */
export function toColumns(events: readonly TaskEvent[]): TaskColumns {
  const figureNames = new Map<string, number>();
  for (const e of events) for (const name in e.figures ?? {}) if (!figureNames.has(name)) figureNames.set(name, figureNames.size);
  const values: unknown[][] = [...figureNames.keys()].map(() => new Array(events.length).fill(null));
  events.forEach((e, row) => {
    for (const name in e.figures ?? {}) values[figureNames.get(name)!][row] = e.figures![name];
  });
  return {
    n: events.length,
    seq: events.map((e) => e.seq),
    key: events.map((e) => e.key),
    start: events.map((e) => e.start),
    end: events.map((e) => e.end),
    framework: named(events.map((e) => e.framework)),
    group: named(events.map((e) => e.group)),
    phase: named(events.map((e) => e.phase)),
    status: named(events.map((e) => e.status)),
    lane: named(events.map((e) => e.lane ?? "")),
    error: events.flatMap((e, row): [number, string][] => (e.error ? [[row, e.error]] : [])),
    figures: { names: [...figureNames.keys()], values },
  };
}

/** The events of a page of columns, as the socket's `events` would have carried them. */
export function fromColumns(c: TaskColumns): TaskEvent[] {
  const errors = new Map(c.error);
  const events: TaskEvent[] = [];
  for (let row = 0; row < c.n; row++) {
    events.push({
      seq: c.seq[row],
      framework: nameAt(c.framework, row),
      group: nameAt(c.group, row),
      key: c.key[row],
      phase: nameAt(c.phase, row),
      status: nameAt(c.status, row),
      lane: nameAt(c.lane, row),
      start: c.start[row],
      end: c.end[row],
      error: errors.get(row) ?? "",
      figures: figuresAt(c.figures, row) ?? {},
    });
  }
  return events;
}

/** Rows [from, n) of a page (a reconnect that overlaps what was merged; rare). */
export function sliceColumns(c: TaskColumns, from: number): TaskColumns {
  const cut = (column: NamedColumn): NamedColumn =>
    column.index ? { names: column.names, index: column.index.slice(from) } : column;
  return {
    n: c.n - from,
    seq: c.seq.slice(from),
    key: c.key.slice(from),
    start: c.start.slice(from),
    end: c.end.slice(from),
    framework: cut(c.framework),
    group: cut(c.group),
    phase: cut(c.phase),
    status: cut(c.status),
    lane: cut(c.lane),
    error: c.error.filter(([row]) => row >= from).map(([row, text]): [number, string] => [row - from, text]),
    figures: { names: c.figures.names, values: c.figures.values.map((column) => column.slice(from)) },
  };
}
