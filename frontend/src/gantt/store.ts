// The tasks of one job in the browser: live events merged into one record per task (key and phase), kept in
// typed arrays so 100k tasks cost a few MB and a layout pass is a tight loop.
//
// Merge rule (the server's, monitoring/tasks_query.py): a task has a `running` event and then one `finished`
// or `failed` event; the ending event replaces the running one whatever the order they arrive in, a running
// event never replaces an ending one, and among events of the same kind the larger seq wins. An event whose seq
// was already merged is a duplicate and is dropped.

import { figuresAt, type TaskColumns } from "./columns";
import { hashKey, IdIndex } from "./idindex";
import { compareLanes, SlotPacker } from "./lanes";
import type { TaskEvent } from "./types";

export const STATUS_RUNNING = 0;
export const STATUS_FINISHED = 1;
export const STATUS_FAILED = 2;
// A task the runner ended as lost, or one still running when the job ended (drawn in the cancelled colour).
export const STATUS_LOST = 3;
export const STATUS_NAMES = ["running", "finished", "failed", "lost"] as const;

export function statusCode(status: string): number {
  // "lost": the runner ended a task that never reported its end when the job's processes ended (a cancel).
  if (status === "lost") return STATUS_LOST;
  return status === "finished" ? STATUS_FINISHED : status === "failed" ? STATUS_FAILED : STATUS_RUNNING;
}

export const PHASES = ["task", "compute", "transfer", "disk-read", "disk-write"] as const;

/** The index of `name` in `names`, appended when new (`ids` maps each name to its index). */
function intern(names: string[], ids: Map<string, number>, name: string): number {
  let id = ids.get(name);
  if (id === undefined) {
    id = names.length;
    names.push(name);
    ids.set(name, id);
  }
  return id;
}

function phaseCode(phase: string): number {
  const i = (PHASES as readonly string[]).indexOf(phase);
  return i < 0 ? 0 : i;
}

export interface TaskRecord {
  index: number;
  seq: number;
  key: string;
  group: string;
  phase: string;
  framework: string;
  lane: string;
  status: string;
  start: number;
  end: number | null;
  error: string;
  figures: Record<string, unknown>;
}

const INITIAL = 1024;

export class TaskStore {
  /** Bumped on every change: a view redraws when it differs from what it drew. */
  version = 0;
  size = 0;
  start = new Float64Array(INITIAL);
  end = new Float64Array(INITIAL); // NaN while running
  seq = new Float64Array(INITIAL);
  status = new Uint8Array(INITIAL);
  phase = new Uint8Array(INITIAL);
  lane = new Uint32Array(INITIAL); // index into `lanes`
  group = new Uint32Array(INITIAL); // index into `groups`
  keys: string[] = [];
  // Few tasks have an error or (from live events) figures: kept by task index, not in an array of a million holes.
  errors = new Map<number, string>();
  figures = new Map<number, Record<string, unknown>>();
  // Figures of tasks merged from columns stay in their page (figurePages[figurePage[i] - 1], row figureRow[i]).
  figurePage = new Uint32Array(INITIAL);
  figureRow = new Uint32Array(INITIAL);
  private figurePages: TaskColumns["figures"][] = [];
  framework = new Uint8Array(INITIAL); // index into `frameworks`
  frameworks: string[] = [];
  private frameworkIds = new Map<string, number>();

  lanes: string[] = [];
  groups: string[] = [];
  /** Rank of each lane in natural order (lane index → rank); rebuilt when a lane appears. */
  laneRank = new Uint32Array(0);
  /** The last seq merged (the `tasks_after` cursor of a reconnect). */
  lastSeq = 0;
  /** Task indices ordered by start (then seq): culling is a binary search on `sortedStart`. */
  order = new Uint32Array(INITIAL);
  sortedStart = new Float64Array(INITIAL);
  /** No ended task lasts longer (an upper bound: culling looks this far before the window). */
  maxEndedDuration = 0;
  firstStart = Infinity;
  lastTime = -Infinity;
  running = new Set<number>();

  private byId = new IdIndex(); // (key, phase) → task index
  private laneIds = new Map<string, number>();
  private groupIds = new Map<string, number>();
  private packer = new SlotPacker();
  private moved = new Set<number>(); // tasks whose start changed since the order was last fixed
  private orderedSize = 0; // tasks 0..orderedSize-1 are in `order`
  private count = 0; // entries in `order`
  private orderedStart = new Float64Array(INITIAL); // each task's start when it was put in `order`

  /** Merge events (any order, duplicates allowed). Returns how many changed a task. */
  merge(events: readonly TaskEvent[]): number {
    let changed = 0;
    for (const event of events) if (this.mergeOne(event)) changed++;
    if (changed) this.version++;
    return changed;
  }

  /** Merge a page of events sent as columns (the socket's history, see columns.ts): the same rule as `merge`,
   * without an object per event; figures stay in the page's columns until a task is looked at. */
  mergeColumns(c: TaskColumns): number {
    const n = c.n;
    if (!n) return 0;
    this.ensureCapacity(this.size + n);
    // Each name of the page is looked up once, not once per event (a lane when first used: a page's lane that only
    // dropped events name is no row of the chart).
    const lanes = new Int32Array(c.lane.names.length).fill(-2);
    const groups = c.group.names.map((name) => this.groupId(name));
    const statuses = c.status.names.map(statusCode);
    const phaseNames = c.phase.names;
    const phases = phaseNames.map(phaseCode);
    const frameworks = c.framework.names.map((name) => intern(this.frameworks, this.frameworkIds, name));
    const laneIx = c.lane.index, groupIx = c.group.index, statusIx = c.status.index; // prettier-ignore
    const phaseIx = c.phase.index, frameworkIx = c.framework.index; // prettier-ignore
    const figurePage = c.figures.names.length ? this.figurePages.push(c.figures) : 0;
    const errors = c.error;
    let nextError = 0;
    let changed = 0;
    for (let r = 0; r < n; r++) {
      const seq = c.seq[r];
      if (seq > this.lastSeq) this.lastSeq = seq;
      const ph = phaseIx ? phaseIx[r] : 0;
      const key = c.key[r];
      const status = statuses[statusIx ? statusIx[r] : 0];
      const start = c.start[r];
      const end = c.end[r];
      const i = this.slotFor(key, phases[ph], seq, status !== STATUS_RUNNING, start);
      if (i < 0) continue;
      changed++;
      const l = laneIx ? laneIx[r] : 0;
      if (lanes[l] === -2) lanes[l] = c.lane.names[l] ? this.laneId(c.lane.names[l]) : -1;
      this.lane[i] = lanes[l] >= 0 ? lanes[l] : this.laneId(this.packer.place(taskId(key, phaseNames[ph]), start, end));
      this.framework[i] = frameworks[frameworkIx ? frameworkIx[r] : 0];
      this.group[i] = groups[groupIx ? groupIx[r] : 0];
      while (nextError < errors.length && errors[nextError][0] < r) nextError++;
      const error = nextError < errors.length && errors[nextError][0] === r ? errors[nextError][1] : "";
      if (error) this.errors.set(i, error);
      else if (this.errors.size) this.errors.delete(i);
      if (this.figures.size) this.figures.delete(i);
      this.figurePage[i] = figurePage;
      this.figureRow[i] = r;
      this.write(i, seq, start, end, status);
    }
    if (changed) this.version++;
    return changed;
  }

  private mergeOne(e: TaskEvent): boolean {
    if (e.seq > this.lastSeq) this.lastSeq = e.seq;
    const status = statusCode(e.status);
    const i = this.slotFor(e.key, phaseCode(e.phase), e.seq, status !== STATUS_RUNNING, e.start);
    if (i < 0) return false;
    const laneName = e.lane ? e.lane : this.packer.place(taskId(e.key, e.phase), e.start, e.end);
    this.framework[i] = intern(this.frameworks, this.frameworkIds, e.framework);
    this.lane[i] = this.laneId(laneName);
    this.group[i] = this.groupId(e.group);
    if (e.error) this.errors.set(i, e.error);
    else if (this.errors.size) this.errors.delete(i);
    if (e.figures && hasKeys(e.figures)) this.figures.set(i, e.figures);
    else if (this.figures.size) this.figures.delete(i);
    this.figurePage[i] = 0;
    this.write(i, e.seq, e.start, e.end, status);
    return true;
  }

  /** The index the event (`seq`) of task (`key`, `phase`) writes to (a new task is appended), or -1 when the merge
   * rule drops it. One record per key and phase (Lithops tasks are all phase "task"). */
  private slotFor(key: string, phase: number, seq: number, ended: boolean, start: number): number {
    let i = this.byId.findOrAdd(key, phase, hashKey(key, phase), this.keys, this.phase, this.size);
    if (i >= 0) {
      if (seq === this.seq[i]) return -1; // the same event again
      const wasEnded = this.status[i] !== STATUS_RUNNING;
      if (wasEnded && !ended) return -1; // a running event never replaces an ending one
      if (wasEnded === ended && seq < this.seq[i]) return -1; // an older event of the same kind
      if (this.start[i] !== start && i < this.orderedSize) this.moved.add(i);
      return i;
    }
    i = this.size++; // indexed by findOrAdd
    this.ensureCapacity(this.size);
    this.keys[i] = key;
    this.phase[i] = phase;
    return i;
  }

  /** The times and status of task `i` from an accepted event, and the store's bounds. */
  private write(i: number, seq: number, start: number, end: number | null | undefined, status: number): void {
    this.seq[i] = seq;
    this.start[i] = start;
    this.end[i] = end === null || end === undefined ? NaN : end;
    this.status[i] = status;
    if (status !== STATUS_RUNNING) {
      if (this.running.size) this.running.delete(i);
      if (end !== null && end !== undefined) {
        if (end - start > this.maxEndedDuration) this.maxEndedDuration = end - start;
        if (end > this.lastTime) this.lastTime = end;
      }
    } else {
      this.running.add(i);
    }
    if (start < this.firstStart) this.firstStart = start;
    if (start > this.lastTime) this.lastTime = start;
  }

  private laneId(name: string): number {
    const known = this.lanes.length;
    const id = intern(this.lanes, this.laneIds, name);
    if (this.lanes.length > known) {
      const ranked = this.lanes.map((_, j) => j).sort((a, b) => compareLanes(this.lanes[a], this.lanes[b]));
      this.laneRank = new Uint32Array(this.lanes.length);
      ranked.forEach((lane, rank) => (this.laneRank[lane] = rank));
    }
    return id;
  }

  private groupId(name: string): number {
    return intern(this.groups, this.groupIds, name);
  }

  private ensureCapacity(n: number): void {
    if (n <= this.start.length) return;
    const capacity = Math.max(n, this.start.length * 2);
    const grow = <T extends Float64Array | Uint8Array | Uint32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(capacity);
      b.set(a);
      return b;
    };
    this.start = grow(this.start);
    this.end = grow(this.end);
    this.seq = grow(this.seq);
    this.status = grow(this.status);
    this.phase = grow(this.phase);
    this.lane = grow(this.lane);
    this.group = grow(this.group);
    this.order = grow(this.order);
    this.sortedStart = grow(this.sortedStart);
    this.orderedStart = grow(this.orderedStart);
    this.figurePage = grow(this.figurePage);
    this.framework = grow(this.framework);
    this.figureRow = grow(this.figureRow);
  }

  /** Bring `order` up to date: appends in start order cost nothing, a few moved tasks are re-inserted, many
   * changes re-sort everything. */
  ensureOrder(): void {
    const added = this.size - this.orderedSize;
    const changes = added + this.moved.size;
    if (!changes) return;
    if (changes > 2000 && changes > this.size / 8) {
      this.resort();
    } else {
      for (const i of this.moved) this.removeFromOrder(i);
      for (const i of this.moved) this.insertInOrder(i);
      for (let i = this.orderedSize; i < this.size; i++) this.insertInOrder(i);
    }
    this.moved.clear();
    this.orderedSize = this.size;
  }

  /** Sort everything: the starts sorted natively, then each task put at its start's place (ties in arrival
   * order), much faster than sorting indices with a comparator. */
  private resort(): void {
    const n = this.size;
    const sorted = this.start.slice(0, n).sort();
    const taken = new Uint32Array(n);
    const start = this.start;
    for (let i = 0; i < n; i++) {
      // Tasks come roughly in start order (numbered as they start): the place is searched from near i outwards.
      const first = lowerBoundNear(sorted, n, start[i], i);
      this.order[first + taken[first]++] = i;
    }
    this.sortedStart.set(sorted);
    this.orderedStart.set(this.start.subarray(0, n));
    this.count = n;
  }

  private removeFromOrder(i: number): void {
    // Task i sits among the entries of the start it had when it was put in the order.
    let pos = lowerBound(this.sortedStart, this.count, this.orderedStart[i]);
    while (pos < this.count && this.order[pos] !== i) pos++;
    if (pos >= this.count) return;
    this.order.copyWithin(pos, pos + 1, this.count);
    this.sortedStart.copyWithin(pos, pos + 1, this.count);
    this.count--;
  }

  private insertInOrder(i: number): void {
    const s = this.start[i];
    const n = this.count;
    let pos: number;
    if (n === 0 || this.sortedStart[n - 1] <= s) pos = n;
    else pos = upperBound(this.sortedStart, n, s);
    if (pos < n) {
      this.order.copyWithin(pos + 1, pos, n);
      this.sortedStart.copyWithin(pos + 1, pos, n);
    }
    this.order[pos] = i;
    this.sortedStart[pos] = s;
    this.orderedStart[i] = s;
    this.count = n + 1;
  }

  /** Where a task is drawn to: its end, or `openEnd` (now, or the job's end) while it runs. */
  endOf(i: number, openEnd: number): number {
    const e = this.end[i];
    return e === e ? e : Math.max(this.start[i], openEnd);
  }

  /** The longest any task may reach back before a window (culling bound), running tasks drawn to `openEnd`. */
  maxDuration(openEnd: number): number {
    let longest = this.maxEndedDuration;
    for (const i of this.running) longest = Math.max(longest, openEnd - this.start[i]);
    return longest;
  }

  /** Positions [lo, hi) of `order` whose tasks may overlap [t0, t1]. */
  cullRange(t0: number, t1: number, openEnd: number): [number, number] {
    this.ensureOrder();
    const lo = lowerBound(this.sortedStart, this.size, t0 - this.maxDuration(openEnd));
    const hi = upperBound(this.sortedStart, this.size, t1);
    return [lo, hi];
  }

  record(i: number): TaskRecord {
    return {
      index: i,
      seq: this.seq[i],
      key: this.keys[i],
      group: this.groups[this.group[i]],
      phase: PHASES[this.phase[i]] ?? "task",
      framework: this.frameworks[this.framework[i]],
      lane: this.lanes[this.lane[i]],
      status: STATUS_NAMES[this.status[i]],
      start: this.start[i],
      end: this.end[i] === this.end[i] ? this.end[i] : null,
      error: this.errors.get(i) ?? "",
      figures: this.figures.get(i) ?? this.pageFigures(i) ?? {},
    };
  }

  private pageFigures(i: number): Record<string, unknown> | undefined {
    const page = this.figurePage[i];
    return page ? figuresAt(this.figurePages[page - 1], this.figureRow[i]) : undefined;
  }

  /** Counts by status (running, finished, failed) of the tasks. */
  statusCounts(): [number, number, number] {
    const counts: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < this.size; i++) counts[Math.min(2, this.status[i])]++;
    return counts;
  }
}

/** A task's id for the slot packer: its key, with the phase when not "task". */
const taskId = (key: string, phase: string): string => (phase === "task" ? key : `${key}\u0000${phase}`);

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

/** The first index of sorted `values[0, n)` holding a value ≥ x (lower bound) or > x (upper bound). */
function bound(values: Float64Array, n: number, x: number, upper: boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < x || (upper && values[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** lowerBound(values, n, x), found by galloping from `guess` outwards: O(log d) for a value d places away. */
function lowerBoundNear(values: Float64Array, n: number, x: number, guess: number): number {
  let lo: number;
  let hi: number;
  if (n === 0) return 0;
  if (guess >= n) guess = n - 1;
  if (values[guess] < x) {
    // The answer is after guess.
    let step = 1;
    lo = guess + 1;
    hi = guess + 1;
    while (hi < n && values[hi] < x) {
      lo = hi + 1;
      hi += step;
      step *= 2;
    }
    if (hi > n) hi = n;
  } else {
    // The answer is at or before guess.
    let step = 1;
    hi = guess;
    lo = guess;
    while (lo > 0 && values[lo - 1] >= x) {
      hi = lo - 1;
      lo -= step;
      step *= 2;
      if (lo < 0) lo = 0;
    }
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export const lowerBound = (values: Float64Array, n: number, x: number): number => bound(values, n, x, false);
export const upperBound = (values: Float64Array, n: number, x: number): number => bound(values, n, x, true);
