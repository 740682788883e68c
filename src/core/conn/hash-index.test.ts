// The connection table's open-addressing index on its own: backward-shift deletion must keep every
// other entry reachable from its home cell, including chains that wrap past the end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { indexInsert, indexRemove, nextPow2 } from './hash-index.js';
import { V6AddrPool, V6_ENTRY } from './v6-pool.js';

/** Linear probe from `h` as the table's lookups do: the cell holding slot `s`, or -1. */
function find(idx: Int32Array, mask: number, s: number, h: number): number {
  for (let i = h & mask; idx[i] !== 0; i = (i + 1) & mask) if (idx[i] === s + 1) return i;
  return -1;
}

test('indexRemove shifts followers back across the wrap-around, and every other entry stays reachable', () => {
  const mask = 7;
  // Homes crowd the end of an 8-cell index so the chain wraps: slots 0..5 hashed to 6, 7, 6, 7, 0, 6.
  const home = [6, 7, 6, 7, 0, 6];
  for (const removed of home.keys()) {
    const idx = new Int32Array(8);
    home.forEach((h, s) => indexInsert(idx, mask, s, h));
    indexRemove(idx, mask, removed, (s) => home[s]);
    assert.equal(find(idx, mask, removed, home[removed]), -1, `slot ${removed} is gone`);
    home.forEach((h, s) => { if (s !== removed) assert.notEqual(find(idx, mask, s, h), -1, `slot ${s} reachable after removing ${removed}`); });
    assert.equal(idx.filter((e) => e !== 0).length, home.length - 1, 'no tombstone, no duplicate');
  }
  // A slot that is not in the index: nothing changes.
  const idx = new Int32Array(8);
  home.forEach((h, s) => indexInsert(idx, mask, s, h));
  const before = [...idx];
  indexRemove(idx, mask, 9, () => 6);
  assert.deepEqual([...idx], before);
});

test('nextPow2 rounds up to a power of two', () => {
  assert.deepEqual([nextPow2(1), nextPow2(5), nextPow2(1024), nextPow2(1025)], [1, 8, 1024, 2048]);
});

test('V6AddrPool stores the three addresses, zeroes a missing server, and reuses a released entry', () => {
  const pool = new V6AddrPool();
  const a = new Uint8Array(16).fill(1), b = new Uint8Array(16).fill(2), c = new Uint8Array(16).fill(3);
  const i = pool.alloc(a, b, c);
  const j = pool.alloc(c, a, undefined);
  assert.notEqual(i, j);
  assert.deepEqual([...pool.bytes.subarray(j * V6_ENTRY, j * V6_ENTRY + V6_ENTRY)], [...c, ...a, ...new Uint8Array(16)]);
  pool.release(i);
  assert.equal(pool.alloc(b, b, b), i, 'the released entry is taken first');
  assert.deepEqual([...pool.bytes.subarray(i * V6_ENTRY, i * V6_ENTRY + V6_ENTRY)], [...b, ...b, ...b]);
  for (let n = 0; n < 200; n++) pool.alloc(a, b, c); // grows past its first 64 entries
  assert.deepEqual([...pool.bytes.subarray(j * V6_ENTRY, j * V6_ENTRY + 16)], [...c], 'growth keeps earlier entries');
});
