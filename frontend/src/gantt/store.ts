// The tasks of one job in the browser: live events merged into one record per task (key and phase), kept in
// typed arrays so 100k tasks cost a few MB and a layout pass is a tight loop.
//
// Merge rule (the server's, monitoring/tasks_query.py): a task has a `running` event and then one `finished`
// or `failed` event; the ending event replaces the running one whatever the order they arrive in, a running
// event never replaces an ending one, and among events of the same kind the larger seq wins. An event whose seq
// was already merged is a duplicate and is dropped.

import { compareLanes, SlotPacker } from "./lanes";
import type { TaskEvent } from "./types";

export const STATUS_RUNNING = 0;
export const STATUS_FINISHED = 1;
export const STATUS_FAILED = 2;
// Not stored: a task still running when the job ended (drawn to the job's end, in the cancelled colour).
export const STATUS_LOST = 3;
export const STATUS_NAMES = ["running", "finished", "failed", "lost"] as const;

export function statusCode(status: string): number {
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
  errors: (string | undefined)[] = [];
  figures: (Record<string, unknown> | undefined)[] = [];
  frameworks: string[] = [];

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

  private byId = new Map<string, number>();
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

  private mergeOne(e: TaskEvent): boolean {
    if (e.seq > this.lastSeq) this.lastSeq = e.seq;
    // One record per key and phase (Lithops tasks are all phase "task": their key alone).
    const id = e.phase === "task" ? e.key : `${e.key}\u0000${e.phase}`;
    const status = statusCode(e.status);
    const ended = status !== STATUS_RUNNING;
    let i = this.byId.get(id);
    if (i !== undefined) {
      const wasEnded = this.status[i] !== STATUS_RUNNING;
      if (e.seq === this.seq[i]) return false; // the same event again
      if (wasEnded && !ended) return false; // a running event never replaces an ending one
      if (wasEnded === ended && e.seq < this.seq[i]) return false; // an older event of the same kind
    }
    const laneName = e.lane ? e.lane : this.packer.place(id, e.start, e.end);
    if (i === undefined) {
      i = this.size++;
      this.ensureCapacity(this.size);
      this.byId.set(id, i);
      this.keys[i] = e.key;
      this.phase[i] = phaseCode(e.phase);
      this.frameworks[i] = e.framework;
    } else if (this.start[i] !== e.start) {
      if (i < this.orderedSize) this.moved.add(i);
    }
    this.seq[i] = e.seq;
    this.start[i] = e.start;
    this.end[i] = e.end === null || e.end === undefined ? NaN : e.end;
    this.status[i] = status;
    this.lane[i] = this.laneId(laneName);
    this.group[i] = this.groupId(e.group);
    this.errors[i] = e.error || undefined;
    this.figures[i] = e.figures && hasKeys(e.figures) ? e.figures : undefined;
    if (ended) {
      this.running.delete(i);
      if (e.end !== null && e.end !== undefined) {
        this.maxEndedDuration = Math.max(this.maxEndedDuration, e.end - e.start);
        this.lastTime = Math.max(this.lastTime, e.end);
      }
    } else {
      this.running.add(i);
    }
    this.firstStart = Math.min(this.firstStart, e.start);
    this.lastTime = Math.max(this.lastTime, e.start);
    return true;
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
    for (let i = 0; i < n; i++) {
      const first = lowerBound(sorted, n, this.start[i]);
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
      framework: this.frameworks[i],
      lane: this.lanes[this.lane[i]],
      status: STATUS_NAMES[this.status[i]],
      start: this.start[i],
      end: this.end[i] === this.end[i] ? this.end[i] : null,
      error: this.errors[i] ?? "",
      figures: this.figures[i] ?? {},
    };
  }

  /** Counts by status (running, finished, failed) of the tasks. */
  statusCounts(): [number, number, number] {
    const counts: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < this.size; i++) counts[Math.min(2, this.status[i])]++;
    return counts;
  }
}

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

export const lowerBound = (values: Float64Array, n: number, x: number): number => bound(values, n, x, false);
export const upperBound = (values: Float64Array, n: number, x: number): number => bound(values, n, x, true);
