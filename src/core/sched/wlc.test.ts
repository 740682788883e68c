import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import type { SchedulerFactory } from './scheduler.js';
import { wlcScheduler } from './wlc.js';
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

test('wlc compares overhead/weight by cross-multiplication (spec §1 wlc)', () => {
  // A: 256/1, B: 512/3 -> 256*3 = 768 > 512*1, B is less loaded.
  assert.equal(pick(wlcScheduler, { A: { w: 1, a: 1 }, B: { w: 3, a: 2 } }), 'B');
  // A: 256/1, B: 1024/3 -> 768 > 1024 is false, A stays.
  assert.equal(pick(wlcScheduler, { A: { w: 1, a: 1 }, B: { w: 3, a: 4 } }), 'A');
});

test('wlc uses active*256 + inactive as the load (spec §1 wlc, load metric)', () => {
  assert.equal(pick(wlcScheduler, { A: { a: 1 }, B: { i: 255 } }), 'B');
  assert.equal(pick(wlcScheduler, { A: { a: 1 }, B: { i: 257 } }), 'A');
});

test('wlc ties keep the earlier destination in list order (spec §1 wlc)', () => {
  assert.equal(pick(wlcScheduler, { A: { w: 1, a: 1 }, B: { w: 2, a: 2 } }), 'A');
  assert.equal(pick(wlcScheduler, { A: { w: 1, a: 2 }, B: { w: 2, a: 2 }, C: { w: 4, a: 4 } }), 'B');
});

test('wlc skips OVERLOAD destinations (spec §1 overload flag)', () => {
  assert.equal(pick(wlcScheduler, { A: { o: true }, B: { a: 9 } }), 'B');
  assert.equal(pick(wlcScheduler, { A: { a: 9 }, B: { o: true } }), 'A');
  assert.equal(pick(wlcScheduler, { A: { o: true } }), '-');
});

test('wlc never picks weight 0 (quiescent) destinations, first or later (spec §1 wlc, weight 0)', () => {
  assert.equal(pick(wlcScheduler, { A: { w: 0 }, B: { a: 9 } }), 'B');
  // A later weight-0 destination with no load: loh*0 > 0*w is false, so it cannot win.
  assert.equal(pick(wlcScheduler, { A: { a: 9 }, B: { w: 0 } }), 'A');
  assert.equal(pick(wlcScheduler, { A: { w: 0 } }), '-');
});
