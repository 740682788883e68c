import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import type { SchedulerFactory } from './scheduler.js';
import { lcScheduler } from './lc.js';
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

test('lc picks the minimal active*256 + inactive (spec §1 lc, load metric <<8)', () => {
  // 1 active = 256 > 255 inactive; with <<5 it would be 32 < 255 and A would win.
  assert.equal(pick(lcScheduler, { A: { a: 1 }, B: { i: 255 } }), 'B');
  assert.equal(pick(lcScheduler, { A: { a: 1 }, B: { i: 257 } }), 'A');
});

test('lc ties keep the earlier destination in list order (spec §1 lc)', () => {
  assert.equal(pick(lcScheduler, { A: { a: 1 }, B: { i: 256 }, C: { i: 256 } }), 'A');
  assert.equal(pick(lcScheduler, { A: { a: 2 }, B: { i: 3 }, C: { i: 3 } }), 'B');
});

test('lc ignores the weight magnitude (spec §1 lc)', () => {
  assert.equal(pick(lcScheduler, { A: { w: 100, i: 10 }, B: { w: 1, i: 5 } }), 'B');
});

test('lc skips OVERLOAD destinations (spec §1 overload flag)', () => {
  assert.equal(pick(lcScheduler, { A: { o: true }, B: { a: 5 } }), 'B');
  assert.equal(pick(lcScheduler, { A: { o: true } }), '-');
});

test('lc skips weight 0 (quiescent) destinations (spec §1 weight 0)', () => {
  assert.equal(pick(lcScheduler, { A: { w: 0 }, B: { a: 5 } }), 'B');
  assert.equal(pick(lcScheduler, { A: { w: 0 } }), '-');
});
