// Task index by (key, phase): an open-addressing hash table in typed arrays. A `Map` keyed by strings was the
// largest cost of merging a big history (a million tasks: a second in `Map.get`/`set`, its rehashes and the
// `key + phase` strings built to look up); here a lookup hashes the key's characters once, probes an Int32Array
// and compares against the store's own keys and phases, and growing re-uses the hashes kept per task.

const EMPTY = -1;

/** FNV-1a over the key's UTF-16 code units, mixed with the phase code. */
export function hashKey(key: string, phase: number): number {
  let h = 0x811c9dc5 ^ phase;
  for (let c = 0; c < key.length; c++) h = Math.imul(h ^ key.charCodeAt(c), 0x01000193);
  return h >>> 0;
}

export class IdIndex {
  private table = new Int32Array(2048).fill(EMPTY);
  private mask = 2047;
  private hashes = new Uint32Array(1024); // of each task index
  private used = 0;

  /** The task of `key` and `phase` (hash `h` = hashKey(key, phase)), or -1 after indexing `added` under it (one probe
   * for both: the empty slot that ends the search is where a new task goes). `keys` and `phases` are the store's,
   * by task index; the caller writes task `added`'s key and phase there. */
  findOrAdd(key: string, phase: number, h: number, keys: readonly string[], phases: Uint8Array, added: number): number {
    if (2 * (this.used + 1) > this.table.length) this.rehash(this.table.length * 2);
    const { table, mask, hashes } = this;
    let slot = h & mask;
    for (; ; slot = (slot + 1) & mask) {
      const i = table[slot];
      if (i === EMPTY) break;
      if (hashes[i] === h && keys[i] === key && phases[i] === phase) return i;
    }
    if (added >= hashes.length) {
      const grown = new Uint32Array(Math.max(added + 1, hashes.length * 2));
      grown.set(hashes);
      this.hashes = grown;
    }
    this.hashes[added] = h;
    table[slot] = added;
    this.used++;
    return -1;
  }

  private put(i: number, h: number): void {
    let slot = h & this.mask;
    while (this.table[slot] !== EMPTY) slot = (slot + 1) & this.mask;
    this.table[slot] = i;
  }

  private rehash(size: number): void {
    const old = this.table;
    this.table = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    for (let s = 0; s < old.length; s++) if (old[s] !== EMPTY) this.put(old[s], this.hashes[old[s]]);
  }
}
