// The connection table's hash indexes: open addressing over an Int32Array of slot + 1 (0 = empty),
// linear probing, and backward-shift deletion, so there are no tombstones and probe chains stay
// short under churn. The key lives in the table's records, not here: the table hashes a slot's key
// and probes for lookups itself (conn-table.ts says why those stay there).

const EMPTY = 0; // conn-table.ts's lookups test the same value

/** The smallest power of two ≥ n (index sizes). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Adds slot `s` with hash `h` (the index must have a free cell: it is sized at twice the slots). */
export function indexInsert(idx: Int32Array, mask: number, s: number, h: number): void {
  let i = h & mask;
  while (idx[i] !== EMPTY) i = (i + 1) & mask;
  idx[i] = s + 1;
}

/** Removes slot `s`; `rehash` gives the hash of a slot (`s` to find it, the others to shift followers back). */
export function indexRemove(idx: Int32Array, mask: number, s: number, rehash: (slot: number) => number): void {
  let i = rehash(s) & mask;
  while (idx[i] !== s + 1) {
    if (idx[i] === EMPTY) return;
    i = (i + 1) & mask;
  }
  let j = i;
  for (;;) {
    j = (j + 1) & mask;
    const e = idx[j];
    if (e === EMPTY) break;
    const home = rehash(e - 1) & mask;
    // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
    const stays = i <= j ? home > i && home <= j : home > i || home <= j;
    if (!stays) { idx[i] = e; i = j; }
  }
  idx[i] = EMPTY;
}
