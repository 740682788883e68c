import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import type { SchedulerFactory } from './scheduler.js';
import { sedScheduler } from './sed.js';
import { destConfig, flow, makeTable, svcConfig, svcKey } from './testing.js';

const KEY = svcKey('tcp', '10.0.0.1:80');
const F = flow('192.0.2.1:40000', '10.0.0.1:80');
const label = (d: Destination | undefined) => (d ? 'ABCDEFGH'[d.addr.bytes[3] - 1] : '-');
const ep = (name: string) => `10.0.1.${'ABCDEFGH'.indexOf(name) + 1}:80`;

/** Weight, active, inactive connections and the OVERLOAD flag of one destination. */
interface D { w?: number; a?: number; i?: number; o?: boolean }

/** Builds a service whose list order (newest first) is the key order of `dests`; returns its pick. */
function pick(sched: SchedulerFactory, dests: Record<string, D>): string {
  const { table } = makeTable([sched]);
  const svc = table.addService(svcConfig(KEY, sched.name));
  for (const [n, c] of Object.entries(dests).reverse()) {
    const d = table.addDest(KEY, destConfig(ep(n), c.w ?? 1));
    d.activeConns = c.a ?? 0;
    d.inactConns = c.i ?? 0;
    if (c.o) d.flags |= DEST_F_OVERLOAD;
  }
  return label(svc.sched!.schedule(svc, F));
}

test('sed minimises (active + 1) / weight by cross-multiplication (spec §1 sed)', () => {
  // A: 2/1, B: 5/3 -> 2*3 = 6 > 5*1, B wins.
  assert.equal(pick(sedScheduler, { A: { w: 1, a: 1 }, B: { w: 3, a: 4 } }), 'B');
  // A: 2/1, B: 7/3 -> 6 > 7 is false, A stays.
  assert.equal(pick(sedScheduler, { A: { w: 1, a: 1 }, B: { w: 3, a: 6 } }), 'A');
});

test('sed ignores inactive connections (spec §1 sed)', () => {
  assert.equal(pick(sedScheduler, { A: { i: 1000 }, B: { a: 1 } }), 'A');
});

test('sed ties keep the earlier destination in list order (spec §1 sed)', () => {
  assert.equal(pick(sedScheduler, { A: { w: 1, a: 1 }, B: { w: 2, a: 3 } }), 'A');
});

test('sed skips OVERLOAD destinations (spec §1 overload flag)', () => {
  assert.equal(pick(sedScheduler, { A: { o: true }, B: { a: 9 } }), 'B');
  assert.equal(pick(sedScheduler, { A: { a: 9 }, B: { o: true } }), 'A');
});

test('sed never picks weight 0 (quiescent) destinations (spec §1 weight 0)', () => {
  assert.equal(pick(sedScheduler, { A: { w: 0 }, B: { a: 9 } }), 'B');
  assert.equal(pick(sedScheduler, { A: { a: 9 }, B: { w: 0 } }), 'A');
  assert.equal(pick(sedScheduler, { A: { w: 0 } }), '-');
});
