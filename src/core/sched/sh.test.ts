import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD, SVC_F_SH_FALLBACK, SVC_F_SH_PORT } from '../service/types.js';
import { type SourceHashing, shScheduler } from './sh.js';
import { destConfig, flow, makeTable, svcConfig, svcKey } from './testing.js';

const KEY = svcKey('tcp', '10.0.0.1:80');
const label = (d: Destination | undefined) => (d ? 'ABCDEFGH'[d.addr.bytes[3] - 1] : '-');
const ep = (name: string) => `10.0.1.${'ABCDEFGH'.indexOf(name) + 1}:80`;

/** An sh service whose list order (newest first) is the key order of `weights`. */
function setup(weights: Record<string, number>, flags = 0) {
  const { table } = makeTable([shScheduler]);
  const svc = table.addService(svcConfig(KEY, 'sh', { flags }));
  const by: Record<string, Destination> = {};
  for (const [n, w] of Object.entries(weights).reverse()) by[n] = table.addDest(KEY, destConfig(ep(n), w));
  const layout = () => (svc.sched as SourceHashing).buckets.map(label).join('');
  const from = (src: string) => label(svc.sched!.schedule(svc, flow(src, '10.0.0.1:80')));
  return { table, svc, by, layout, from };
}

// Expected buckets: ihash = hash_32(port + ntohl(saddr), 8), computed with a throwaway Python
// script from include/linux/hash.h ((v * 0x61C88647) mod 2^32) >> 24:
//   192.0.2.1 -> 50, 192.0.2.1 + port 40000 -> 214, 192.0.2.7 -> 125, 203.0.113.9 -> 64,
//   198.51.100.23 -> 199.

test('sh fills weight consecutive buckets per destination, cyclically in list order (spec §1 sh)', () => {
  const s = setup({ A: 3, B: 2, C: 1 });
  assert.equal(s.layout(), 'AAABBC'.repeat(43).slice(0, 256));
});

test('sh gives a weight 0 or 1 destination exactly one bucket (spec §1 sh)', () => {
  const s = setup({ A: 3, B: 0, C: 2 });
  assert.equal(s.layout(), 'AAABCC'.repeat(43).slice(0, 256));
});

test('sh lets a weight above 256 fill the whole table (spec §1 sh)', () => {
  assert.equal(setup({ A: 300, B: 1 }).layout(), 'A'.repeat(256));
});

test('sh hashes the source address with hash_32 over 256 buckets (spec §1 sh)', () => {
  const s = setup({ A: 1, B: 1, C: 1 }); // bucket i -> 'ABC'[i % 3]
  assert.equal(s.from('192.0.2.1:40000'), 'C'); // 50 % 3 = 2
  assert.equal(s.from('192.0.2.7:1'), 'C'); // 125 % 3 = 2
  assert.equal(s.from('203.0.113.9:2'), 'B'); // 64 % 3 = 1
  const w = setup({ A: 3, B: 0, C: 2 }); // bucket i -> 'AAABCC'[i % 6]
  assert.equal(w.from('198.51.100.23:5'), 'A'); // 199 % 6 = 1
  assert.equal(w.from('203.0.113.9:5'), 'C'); // 64 % 6 = 4
});

test('sh adds the source port only with sh-port (SVC_F_SCHED2) (spec §1 sh)', () => {
  assert.equal(setup({ A: 1, B: 1, C: 1 }, SVC_F_SH_PORT).from('192.0.2.1:40000'), 'B'); // 214 % 3 = 1
  assert.equal(setup({ A: 1, B: 1, C: 1 }).from('192.0.2.1:40000'), 'C');
});

test('sh without sh-fallback gives no destination when the bucket is weight 0 or OVERLOAD (spec §1 sh)', () => {
  const s = setup({ A: 1, B: 1, C: 0 });
  assert.equal(s.from('192.0.2.1:1'), '-'); // bucket 50 -> C, quiescent
  const o = setup({ A: 1, B: 1, C: 1 });
  o.by.C.flags |= DEST_F_OVERLOAD;
  assert.equal(o.from('192.0.2.1:1'), '-');
  assert.equal(o.from('203.0.113.9:1'), 'B');
});

test('sh-fallback (SVC_F_SCHED1) walks buckets (roffset + ihash) & 255 to the first available (spec §1 sh)', () => {
  const s = setup({ A: 1, B: 1, C: 0 }, SVC_F_SH_FALLBACK);
  // ihash 50 -> C (weight 0); offset 0: roffset 50 -> bucket 100 -> 'ABC'[100 % 3] = B.
  assert.equal(s.from('192.0.2.1:1'), 'B');
  // ihash 125 -> C; buckets 250 (B), 251 (C), 252 (A): with B overloaded too, A.
  s.by.B.flags |= DEST_F_OVERLOAD;
  assert.equal(s.from('192.0.2.7:1'), 'A');
  s.by.A.flags |= DEST_F_OVERLOAD;
  assert.equal(s.from('192.0.2.7:1'), '-');
});

test('sh reassigns buckets on add, del and upd (spec §1 sh)', () => {
  const s = setup({ A: 1, B: 1 });
  assert.equal(s.layout().slice(0, 4), 'ABAB');
  s.table.editDest(KEY, destConfig(ep('A'), 2));
  assert.equal(s.layout().slice(0, 6), 'AABAAB');
  s.table.addDest(KEY, destConfig(ep('C'), 1));
  assert.equal(s.layout().slice(0, 8), 'CAABCAAB');
  s.table.deleteDest(KEY, s.by.A.addr, 80);
  assert.equal(s.layout().slice(0, 4), 'CBCB');
});

test('sh with no destinations has empty buckets and schedules nothing (spec §1 sh)', () => {
  const s = setup({}, SVC_F_SH_FALLBACK);
  assert.equal(s.layout(), '-'.repeat(256));
  assert.equal(s.from('192.0.2.1:1'), '-');
});
