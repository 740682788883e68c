import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TsvsError } from '../errors.js';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD, SVC_F_MH_FALLBACK, SVC_F_MH_PORT } from '../service/types.js';
import { type MaglevHashing, isPrime, mhScheduler, mhTabBits } from './mh.js';
import { destConfig, flow, makeTable, svcConfig, svcKey } from './testing.js';

const KEY = svcKey('tcp', '10.0.0.1:80');
const label = (d: Destination | undefined) => (d ? 'ABCDEFGH'[d.addr.bytes[3] - 1] : '-');
const ep = (name: string) => `10.0.1.${'ABCDEFGH'.indexOf(name) + 1}:80`;

/** An mh service with table size m whose list order (newest first) is the key order of `weights`. */
function setup(m: number, weights: Record<string, number>, flags = 0) {
  const { table } = makeTable([mhScheduler], { mhTableSize: m });
  const svc = table.addService(svcConfig(KEY, 'mh', { flags }));
  const by: Record<string, Destination> = {};
  for (const [n, w] of Object.entries(weights).reverse()) by[n] = table.addDest(KEY, destConfig(ep(n), w));
  const sched = () => svc.sched as MaglevHashing;
  const layout = () => sched().table.map(label).join('');
  const from = (src: string) => label(svc.sched!.schedule(svc, flow(src, '10.0.0.1:80')));
  return { table, svc, by, sched, layout, from };
}

// Hand-computed tables. Offsets and skips come from hsiphash (64-bit: SipHash-1-3) of
// v = port + ntohl(addr) with the fixed keys, computed by a throwaway Python SipHash that
// reproduces the paper's SipHash-2-4 vectors (see hsiphash.test.ts):
//   A 10.0.1.1:80, B 10.0.1.2:80, C 10.0.1.3:80
//   M = 7:  A offset 6 skip 2, B offset 3 skip 6, C offset 6 skip 5
//   M = 13: A offset 5 skip 2, B offset 8 skip 12, C offset 10 skip 5
// Populate, M = 7, A B C with one turn each:
//   round 1: A 6; B 3; C 6 taken -> 4.   round 2: A 6,1 -> 1; B 3,2 -> 2; C 4,2,0 -> 0.
//   round 3: A 1,3,5 -> 5 (7 slots filled).  Table (slot 0..6): C A B B C A A.
// Lookup slots hsiphash(hash1, ntohl(saddr) [+ sport]) % M:
//   M = 7:  192.0.2.1 -> 2, 192.0.2.7 -> 1, 203.0.113.9 -> 4, 198.51.100.23 -> 0,
//           192.0.2.1 + port 40000 -> 4.   M = 13: 192.0.2.1 -> 1.
//   fallback slots for 192.0.2.1 (M = 7, offsets roffset = (k + 2) % 7, k = 0..): 5, 5, 1, ...
//   fallback slots for 192.0.2.7 (M = 7, roffset = (k + 1) % 7): 2, 0, 4, ...

test('mh populates the M=7 table from offset/skip in list-order rounds (spec §1 mh)', () => {
  const s = setup(7, { A: 1, B: 1, C: 1 });
  assert.equal(s.layout(), 'CABBCAA');
});

test('mh populates the M=13 table, and two destinations, as computed by hand (spec §1 mh)', () => {
  // M=13 A B C: A5 B8 C10 | A7 B8,7,6 C10,2 | A9 B5,4 C7,12 | A11 B3 C4,9,1 | A0
  assert.equal(setup(13, { A: 1, B: 1, C: 1 }).layout(), 'ACCBBABABACAC');
  // M=7 A C: A6 C6,4 | A1 C2 | A3 C0 | A5
  assert.equal(setup(7, { A: 1, C: 1 }).layout(), 'CACACAA');
});

test('mh gives a destination turns = (last_weight / gcd) >> rshift slots per round (spec §1 mh)', () => {
  // A=2 B=1 C=1 at M=7: A6 A1 B3 C4 | A5 A0 B2.
  const s = setup(7, { A: 2, B: 1, C: 1 });
  assert.equal(s.layout(), 'AABBCAA');
  assert.equal(s.sched().gcd, 1);
  assert.equal(s.sched().rshift, 0);
});

test('mh divides weights by their gcd and shifts by fls(max/gcd) - MH_TAB_BITS (spec §1 mh)', () => {
  // Weights 4,2,2: gcd 2 -> turns 2,1,1: the same table as 2,1,1.
  const g = setup(7, { A: 4, B: 2, C: 2 });
  assert.equal(g.sched().gcd, 2);
  assert.equal(g.layout(), 'AABBCAA');
  // Default M=4093 has MH_TAB_BITS 6: max/gcd = 100 -> fls 7 -> rshift 1.
  const d = setup(4093, { A: 100, B: 1 });
  assert.deepEqual([d.sched().gcd, d.sched().rshift], [1, 1]);
  // B's turns: (1 >> 1) = 0 but last_weight != 0, so 1; A's: 50. Per round 51 slots, 50 for A.
  const counts = new Map<string, number>();
  for (const x of d.layout()) counts.set(x, (counts.get(x) ?? 0) + 1);
  // 4093 = 80 rounds of 51 (4080) + 13 slots of the 81st round, all A's.
  assert.deepEqual([counts.get('A'), counts.get('B')], [80 * 50 + 13, 80]);
});

test('mh MH_TAB_BITS follows the kernel config index of the table size (spec §1 mh)', () => {
  assert.deepEqual([251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071].map(mhTabBits), [4, 4, 5, 5, 6, 6, 7, 7, 8, 8]);
  assert.equal(mhTabBits(7), 4);
  assert.equal(mhTabBits(65537), 8);
});

test('mh looks up hsiphash(source address [+ port with mh-port]) % M (spec §1 mh)', () => {
  const s = setup(7, { A: 1, B: 1, C: 1 }); // C A B B C A A
  assert.equal(s.from('192.0.2.1:40000'), 'B'); // slot 2
  assert.equal(s.from('192.0.2.7:1'), 'A'); // slot 1
  assert.equal(s.from('203.0.113.9:1'), 'C'); // slot 4
  assert.equal(s.from('198.51.100.23:1'), 'C'); // slot 0
  assert.equal(setup(7, { A: 1, B: 1, C: 1 }, SVC_F_MH_PORT).from('192.0.2.1:40000'), 'C'); // slot 4
  assert.equal(setup(13, { A: 1, B: 1, C: 1 }).from('192.0.2.1:40000'), 'C'); // slot 1 of ACCBBABABACAC
});

test('mh builds with last_weight, so quiescing a destination keeps the table (spec §1 mh)', () => {
  const s = setup(7, { A: 1, B: 1, C: 1 });
  s.table.editDest(KEY, destConfig(ep('B'), 0));
  assert.equal(s.by.B.lastWeight, 1);
  assert.equal(s.layout(), 'CABBCAA');
  // ...and without mh-fallback its clients get no destination.
  assert.equal(s.from('192.0.2.1:1'), '-');
});

test('mh skips a destination added with weight 0 (last_weight 0) when populating (spec §1 mh)', () => {
  assert.equal(setup(7, { A: 1, B: 0, C: 1 }).layout(), 'CACACAA');
});

test('mh without mh-fallback gives no destination for an OVERLOAD slot (spec §1 mh, overload flag)', () => {
  const s = setup(7, { A: 1, B: 1, C: 1 });
  s.by.A.flags |= DEST_F_OVERLOAD;
  assert.equal(s.from('192.0.2.7:1'), '-');
  assert.equal(s.from('192.0.2.1:1'), 'B');
});

test('mh-fallback (SVC_F_SCHED1) rehashes with roffset = (offset + ihash) % M (spec §1 mh)', () => {
  const s = setup(7, { A: 1, B: 1, C: 1 }, SVC_F_MH_FALLBACK);
  s.table.editDest(KEY, destConfig(ep('B'), 0));
  assert.equal(s.from('192.0.2.1:1'), 'A'); // slot 2 (B, quiesced) -> slot 5 (A)
  s.by.A.flags |= DEST_F_OVERLOAD;
  assert.equal(s.from('192.0.2.7:1'), 'C'); // slot 1 (A) -> slot 2 (B) -> slot 0 (C)
  s.by.C.flags |= DEST_F_OVERLOAD;
  assert.equal(s.from('192.0.2.7:1'), '-');
});

test('mh with no destination weights (gcd < 1) empties the table (spec §1 mh)', () => {
  const s = setup(7, { A: 1 }, SVC_F_MH_FALLBACK);
  s.table.deleteDest(KEY, s.by.A.addr, 80);
  assert.equal(s.layout(), '-------');
  assert.equal(s.from('192.0.2.1:1'), '-');
  assert.equal(setup(7, { A: 0, B: 0 }).layout(), '-------');
});

test('mh rebuilds on add, del and upd (spec §1 mh)', () => {
  const s = setup(7, { A: 1, C: 1 });
  assert.equal(s.layout(), 'CACACAA');
  const b = s.table.addDest(KEY, destConfig(ep('B'), 1)); // list B A C
  // B3 A6 C6,4 | B3,2 A1 C0 | B2,1,0,6,5 -> 5.
  assert.equal(s.layout(), 'CABBCBA');
  s.table.editDest(KEY, destConfig(ep('B'), 2)); // turns B2 A1 C1
  // B3 B2 A6 C4 | B1 B0 A5.
  assert.equal(s.layout(), 'BBBBCAA');
  s.table.deleteDest(KEY, b.addr, 80);
  assert.equal(s.layout(), 'CACACAA');
});

test('mh with equal weights spreads slots within 1 of each other (spec §1 mh)', () => {
  const weights: Record<string, number> = {};
  for (const n of 'ABCDEFGH') weights[n] = 3;
  const s = setup(4093, weights);
  const counts = new Map<string, number>();
  for (const x of s.layout()) counts.set(x, (counts.get(x) ?? 0) + 1);
  // 4093 / 8 = 511.6: every destination holds 511 or 512 slots.
  assert.equal(counts.size, 8);
  for (const c of counts.values()) assert.ok(c === 511 || c === 512, `count ${c}`);
});

test('mh removing one of N destinations changes roughly 1/N of the slots (spec §1 mh)', () => {
  const weights: Record<string, number> = {};
  for (const n of 'ABCDEFGH') weights[n] = 1;
  const s = setup(4093, weights);
  const before = s.layout();
  s.table.deleteDest(KEY, s.by.E.addr, 80);
  const after = s.layout();
  let changed = 0;
  let fromE = 0;
  for (let i = 0; i < before.length; i++) {
    if (before[i] !== after[i]) changed++;
    if (before[i] === 'E') fromE++;
  }
  // All of E's slots (M/8 ≈ 512) must move; Maglev moves few others.
  assert.ok(fromE >= 511 && fromE <= 512);
  assert.ok(changed >= fromE && changed < fromE * 1.5, `changed ${changed} of ${before.length}`);
});

test('mh needs a prime table size and at most M destinations (spec §1 mh)', () => {
  assert.ok(isPrime(7) && isPrime(4093) && isPrime(65537) && !isPrime(4095) && !isPrime(1));
  assert.throws(() => setup(4095, { A: 1 }), (e: unknown) => e instanceof TsvsError && e.errno === 'EINVAL');
  // num_dests > M: the kernel's reassign fails with EINVAL and the old table stays.
  const s = setup(2, { A: 1, B: 1 });
  const before = s.layout();
  s.table.addDest(KEY, destConfig(ep('C'), 1));
  assert.equal(s.layout(), before);
});
