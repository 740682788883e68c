import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import type { SchedulerFactory } from './scheduler.js';
import { ovfScheduler } from './ovf.js';
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

test('ovf picks the highest weight whose active connections are <= weight (spec §1 ovf)', () => {
  assert.equal(pick(ovfScheduler, { A: { w: 1 }, B: { w: 3, a: 3 } }), 'B');
});

test('ovf overflows to the next-highest weight once active > weight (spec §1 ovf)', () => {
  assert.equal(pick(ovfScheduler, { A: { w: 1 }, B: { w: 3, a: 4 }, C: { w: 2, a: 2 } }), 'C');
  assert.equal(pick(ovfScheduler, { A: { w: 1, a: 2 }, B: { w: 3, a: 4 } }), '-');
});

test('ovf counts only active connections (spec §1 ovf)', () => {
  assert.equal(pick(ovfScheduler, { A: { w: 1 }, B: { w: 3, a: 0, i: 1000 } }), 'B');
});

test('ovf ties keep the earlier destination in list order (spec §1 ovf)', () => {
  assert.equal(pick(ovfScheduler, { A: { w: 3, a: 3 }, B: { w: 3 } }), 'A');
});

test('ovf skips OVERLOAD destinations (spec §1 overload flag)', () => {
  assert.equal(pick(ovfScheduler, { A: { w: 5, o: true }, B: { w: 1 } }), 'B');
});

test('ovf never picks weight 0 (quiescent) destinations (spec §1 weight 0)', () => {
  assert.equal(pick(ovfScheduler, { A: { w: 0 } }), '-');
  assert.equal(pick(ovfScheduler, { A: { w: 0 }, B: { w: 1, a: 1 } }), 'B');
});
