import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import { rrScheduler } from './rr.js';
import { destConfig, flow, makeTable, svcConfig, svcKey } from './testing.js';

const KEY = svcKey('tcp', '10.0.0.1:80');
const F = flow('192.0.2.1:40000', '10.0.0.1:80');
const label = (d: Destination | undefined) => (d ? 'ABCDEFGH'[d.addr.bytes[3] - 1] : '-');
const ep = (name: string) => `10.0.1.${'ABCDEFGH'.indexOf(name) + 1}:80`;

/** A rr service whose list order (newest first) is `order`: adds happen in reverse. */
function setup(order: string, weights: Record<string, number> = {}) {
  const { table } = makeTable([rrScheduler]);
  const svc = table.addService(svcConfig(KEY, 'rr'));
  const by: Record<string, Destination> = {};
  for (const n of [...order].reverse()) by[n] = table.addDest(KEY, destConfig(ep(n), weights[n] ?? 1));
  const pick = (count: number) => Array.from({ length: count }, () => label(svc.sched!.schedule(svc, F))).join('');
  return { table, svc, by, pick };
}

test('rr walks the list newest first, starting at the head (spec §1 rr, list order)', () => {
  // Added A, then B, then C: the kernel's list is C, B, A.
  const { table } = makeTable([rrScheduler]);
  const svc = table.addService(svcConfig(KEY, 'rr'));
  for (const n of 'ABC') table.addDest(KEY, destConfig(ep(n)));
  const picks = Array.from({ length: 7 }, () => label(svc.sched!.schedule(svc, F))).join('');
  assert.equal(picks, 'CBACBAC');
});

test('rr ignores the weight magnitude (spec §1 rr)', () => {
  const { pick } = setup('AB', { A: 5, B: 1 });
  assert.equal(pick(4), 'ABAB');
});

test('rr skips OVERLOAD destinations (spec §1 overload flag)', () => {
  const { by, pick } = setup('ABC');
  by.B.flags |= DEST_F_OVERLOAD;
  assert.equal(pick(4), 'ACAC');
});

test('rr skips weight 0 (quiescent) destinations (spec §1 weight 0)', () => {
  const { pick } = setup('ABC', { B: 0 });
  assert.equal(pick(4), 'ACAC');
});

test('rr returns nothing after one full lap without an eligible destination (spec §1 rr)', () => {
  const { by, pick } = setup('AB', { A: 0 });
  by.B.flags |= DEST_F_OVERLOAD;
  assert.equal(pick(2), '--');
  const empty = setup('');
  assert.equal(empty.pick(1), '-');
});

test('rr moves the cursor to the predecessor when the cursor destination is deleted (spec §1 rr)', () => {
  const s = setup('ABCD');
  assert.equal(s.pick(2), 'AB'); // cursor on B
  s.table.deleteDest(KEY, s.by.B.addr, 80);
  // Cursor is now A (B's predecessor), so the walk resumes after A with C.
  assert.equal(s.pick(3), 'CDA');
});

test('rr deleting the first destination while it is the cursor moves the cursor to the list head (spec §1 rr)', () => {
  const s = setup('ABC');
  assert.equal(s.pick(1), 'A');
  s.table.deleteDest(KEY, s.by.A.addr, 80);
  assert.equal(s.pick(3), 'BCB');
});

test('rr keeps its cursor on the same destination when others are added or deleted (spec §1 rr)', () => {
  const s = setup('ABC');
  assert.equal(s.pick(2), 'AB');
  s.table.addDest(KEY, destConfig(ep('D'))); // list D A B C, cursor still B
  assert.equal(s.pick(2), 'CD');
  s.table.deleteDest(KEY, s.by.A.addr, 80); // list D B C, cursor D
  assert.equal(s.pick(3), 'BCD');
  s.table.deleteDest(KEY, s.by.C.addr, 80); // list D B, cursor D
  assert.equal(s.pick(2), 'BD');
});
