// Lanes and rows, as the server makes them (monitoring/lanes.py, monitoring/timeline.py): lanes in natural
// order, one row per lane, and runs of neighbouring lanes sharing a row when there are more lanes than rows.

type Part = [0, number] | [1, string];

function parts(lane: string): Part[] {
  return lane
    .split(/(\d+)/)
    .filter((p) => p !== "")
    .map((p): Part => (/^\d+$/.test(p) ? [0, Number(p)] : [1, p]));
}

/** Natural order (`slot 2` before `slot 10`), the server's `lane_order`. */
export function compareLanes(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const [ka, va] = pa[i];
    const [kb, vb] = pb[i];
    if (ka !== kb) return ka - kb;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** The row of the lane ranked `rank` of `lanes`: lanes share rows in contiguous runs (sizes differing by at
 * most one) when there are more lanes than `maxRows`. */
export function rowOfRank(rank: number, lanes: number, maxRows: number): number {
  return lanes > maxRows ? Math.floor((rank * maxRows) / lanes) : rank;
}

export interface RowInfo {
  index: number;
  label: string;
  lanes: string[];
}

/** The rows of sorted `lanes` with at most `maxRows` rows, labelled like the server's timeline rows. */
export function foldRows(sortedLanes: readonly string[], maxRows: number): RowInfo[] {
  const rows: RowInfo[] = [];
  sortedLanes.forEach((lane, rank) => {
    const index = rowOfRank(rank, sortedLanes.length, Math.max(1, maxRows));
    const last = rows[rows.length - 1];
    if (last && last.index === index) last.lanes.push(lane);
    else rows.push({ index, label: "", lanes: [lane] });
  });
  for (const row of rows) {
    const n = row.lanes.length;
    row.label = n === 1 ? row.lanes[0] : `${row.lanes[0]} … ${row.lanes[n - 1]} (${n} lanes)`;
  }
  return rows;
}

export const SLOT_PREFIX = "slot ";

class Slot {
  starts: number[] = []; // sorted; ends[i] belongs to starts[i]
  ends: number[] = [];
  lastEnd = -Infinity;

  isFree(start: number, end: number): boolean {
    if (start >= this.lastEnd) return true;
    const i = lowerBound(this.starts, start);
    // Bars that merely touch do not overlap.
    if (i > 0 && this.ends[i - 1] > start) return false;
    return !(i < this.starts.length && this.starts[i] < end);
  }

  add(start: number, end: number): void {
    const i = upperBound(this.starts, start);
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
    this.lastEnd = Math.max(this.lastEnd, end);
  }

  removeOpen(start: number): void {
    for (let i = lowerBound(this.starts, start); i < this.starts.length && this.starts[i] === start; i++) {
      if (this.ends[i] === Infinity) {
        this.starts.splice(i, 1);
        this.ends.splice(i, 1);
        this.lastEnd = this.ends.reduce((a, b) => Math.max(a, b), -Infinity);
        return;
      }
    }
  }
}

function lowerBound(values: number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(values: number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Slots for events that name no lane (the server packs them already; this is for events that reach the
 * browser without one): each task goes to the first slot where it overlaps nothing, a running task holds its
 * slot from its start on until its finished event, which goes to the same slot when it still fits. */
export class SlotPacker {
  private slots: Slot[] = [];
  private open = new Map<string, [number, number]>(); // task id → (slot index, start)

  place(id: string, start: number, end: number | null): string {
    const opened = this.open.get(id);
    if (opened !== undefined) {
      const [index, openStart] = opened;
      if (end === null) return `${SLOT_PREFIX}${index + 1}`;
      this.open.delete(id);
      const slot = this.slots[index];
      slot.removeOpen(openStart);
      if (slot.isFree(start, end)) {
        slot.add(start, end);
        return `${SLOT_PREFIX}${index + 1}`;
      }
    }
    const stop = end === null ? Infinity : end;
    let index = this.slots.findIndex((slot) => slot.isFree(start, stop));
    if (index < 0) {
      this.slots.push(new Slot());
      index = this.slots.length - 1;
    }
    this.slots[index].add(start, stop);
    if (end === null) this.open.set(id, [index, start]);
    return `${SLOT_PREFIX}${index + 1}`;
  }
}
