import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import { destConfig, flow, makeTable, svcConfig, svcKey } from './testing.js';
import { type WeightedRoundRobin, wrrScheduler } from './wrr.js';

const KEY = svcKey('tcp', '10.0.0.1:80');
const F = flow('192.0.2.1:40000', '10.0.0.1:80');
const label = (d: Destination | undefined) => (d ? 'ABCDEFGH'[d.addr.bytes[3] - 1] : '-');
const ep = (name: string) => `10.0.1.${'ABCDEFGH'.indexOf(name) + 1}:80`;

/**
 * A service whose list order (newest first) is `order`. With `late`, the destinations are added
 * under scheduler "none" and wrr is bound afterwards (init_svc: cw starts at mw); otherwise wrr is
 * bound first and every add runs the change rule.
 */
function setup(order: string, weights: Record<string, number>, late = false) {
  const { table } = makeTable([wrrScheduler]);
  const svc = table.addService(svcConfig(KEY, late ? 'none' : 'wrr'));
  const by: Record<string, Destination> = {};
  for (const n of [...order].reverse()) by[n] = table.addDest(KEY, destConfig(ep(n), weights[n]));
  if (late) table.editService(svcConfig(KEY, 'wrr'));
  const state = () => {
    const m = svc.sched as WeightedRoundRobin;
    return { cl: m.cl, cw: m.cw, mw: m.mw, di: m.di };
  };
  const pick = (count: number) => Array.from({ length: count }, () => label(svc.sched!.schedule(svc, F))).join('');
  return { table, svc, by, pick, state };
}

test('wrr reproduces A A B A B C A B C when cw starts at mw (spec §1 wrr)', () => {
  const s = setup('ABC', { A: 4, B: 3, C: 2 }, true);
  assert.deepEqual(s.state(), { cl: -1, cw: 4, mw: 4, di: 1 });
  assert.equal(s.pick(9), 'AABABCABC');
  assert.equal(s.pick(9), 'AABABCABC');
});

test('wrr state carries over across adds: C=2, B=3, A=4 one by one leaves cw=1 (spec §1 wrr)', () => {
  const { table } = makeTable([wrrScheduler]);
  const svc = table.addService(svcConfig(KEY, 'wrr'));
  const m = () => {
    const w = svc.sched as WeightedRoundRobin;
    return { cl: w.cl, cw: w.cw, mw: w.mw, di: w.di };
  };
  assert.deepEqual(m(), { cl: -1, cw: 0, mw: 0, di: 1 });
  table.addDest(KEY, destConfig(ep('C'), 2));
  assert.deepEqual(m(), { cl: -1, cw: 1, mw: 1, di: 2 });
  table.addDest(KEY, destConfig(ep('B'), 3));
  assert.deepEqual(m(), { cl: -1, cw: 1, mw: 3, di: 1 });
  table.addDest(KEY, destConfig(ep('A'), 4));
  assert.deepEqual(m(), { cl: -1, cw: 1, mw: 4, di: 1 });
  const pick = (count: number) => Array.from({ length: count }, () => label(svc.sched!.schedule(svc, F))).join('');
  // First sweep at cw=1, then cw wraps to mw=4: A, A B, A B C, and the full period from there.
  assert.equal(pick(3), 'ABC');
  assert.equal(pick(6), 'AABABC');
  assert.equal(pick(9), 'ABCAABABC');
});

test('wrr with a gcd > 1 walks cw from mw = max - (gcd - 1) down by gcd (spec §1 wrr)', () => {
  const s = setup('AB', { A: 6, B: 4 }, true);
  assert.deepEqual(s.state(), { cl: -1, cw: 5, mw: 5, di: 2 });
  // cw 5: A; cw 3: A B; cw 1: A B.
  assert.equal(s.pick(10), 'AABABAABAB');
});

test('wrr on upd resets the cursor to the head and aligns cw to (cw/di)*di+1 (spec §1 wrr)', () => {
  const s = setup('AB', { A: 4, B: 3 }, true);
  assert.equal(s.pick(4), 'AABA'); // cw 4: A; cw 3: A B; cw 2: A
  assert.deepEqual(s.state(), { cl: 0, cw: 2, mw: 4, di: 1 });
  s.table.editDest(KEY, destConfig(ep('B'), 2));
  // di=2, mw=4-(2-1)=3, cw=2 <= mw and di > 1 -> (2/2)*2+1 = 3.
  assert.deepEqual(s.state(), { cl: -1, cw: 3, mw: 3, di: 2 });
  assert.equal(s.pick(4), 'AABA'); // cw 3: A; cw 1: A B; cw 3: A
});

test('wrr on a change sets cw to mw when cw exceeds the new mw (spec §1 wrr)', () => {
  const s = setup('AB', { A: 4, B: 1 }, true);
  assert.equal(s.pick(1), 'A');
  assert.equal(s.state().cw, 4);
  s.table.editDest(KEY, destConfig(ep('A'), 2));
  assert.deepEqual(s.state(), { cl: -1, cw: 2, mw: 2, di: 1 });
  assert.equal(s.pick(3), 'AAB');
});

test('wrr on add/del resets the cursor to the list head (spec §1 wrr)', () => {
  const s = setup('ABC', { A: 1, B: 1, C: 1 }, true);
  assert.equal(s.pick(2), 'AB');
  s.table.deleteDest(KEY, s.by.C.addr, 80);
  assert.equal(s.state().cl, -1);
  assert.equal(s.pick(3), 'ABA');
  s.table.addDest(KEY, destConfig(ep('D'), 1));
  assert.equal(s.pick(3), 'DAB');
});

test('wrr skips OVERLOAD destinations (spec §1 overload flag)', () => {
  const s = setup('ABC', { A: 4, B: 3, C: 2 }, true);
  s.by.A.flags |= DEST_F_OVERLOAD;
  // cw 4: none, cw 3: B, cw 2: B C, cw 1: B C.
  assert.equal(s.pick(5), 'BBCBC');
});

test('wrr never picks weight 0 (quiescent) destinations (spec §1 weight 0)', () => {
  const s = setup('ABC', { A: 0, B: 1, C: 1 }, true);
  assert.equal(s.pick(4), 'BCBC');
});

test('wrr returns nothing when every weight is 0 (mw == 0) (spec §1 wrr)', () => {
  const s = setup('AB', { A: 0, B: 0 }, true);
  assert.deepEqual(s.state(), { cl: -1, cw: 0, mw: 0, di: 1 });
  assert.equal(s.pick(2), '--');
});

test('wrr stops after a full sweep at the lowest cw when everything is overloaded (spec §1 wrr)', () => {
  const s = setup('ABC', { A: 4, B: 3, C: 2 }, true);
  assert.equal(s.pick(2), 'AA');
  for (const d of Object.values(s.by)) d.flags |= DEST_F_OVERLOAD;
  assert.equal(s.pick(2), '--');
  for (const d of Object.values(s.by)) d.flags &= ~DEST_F_OVERLOAD;
  assert.notEqual(s.pick(1), '-');
});
