// Merging worker counters, and what a restarted set of workers carries over (ADR 0003).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import { carryOver, merge, mergeWithCarried } from './plane-snapshot.js';
import { type WorkerSnapshot, newIoCounters } from './worker-protocol.js';

const VIP = parseIp('198.18.0.100')!;
const RIP = parseIp('198.18.1.1')!;
const stats = (conns: number, inPkts: number) => ({ conns, inPkts, outPkts: 0, inBytes: inPkts * 100, outBytes: 0 });

function worker(index: number, conns: number, inPkts: number, active: number): WorkerSnapshot {
  const key = { kind: 'addr' as const, protocol: 'udp' as const, addr: VIP, port: 53 };
  return {
    index, atMs: 1, neighbours: 2,
    io: { ...newIoCounters(), rxFrames: inPkts, offloadActive: active },
    engine: {
      services: [{ key, stats: stats(conns, inPkts), dests: [{ addr: RIP, port: 53, stats: stats(conns, inPkts), activeConns: active, inactConns: 1, persistConns: 1 }] }],
      total: stats(conns, inPkts), drops: { 'no-service': 1 }, conns: active + 1,
    },
  };
}

test('carryOver keeps the cumulative counters of a stopped set and zeroes its gauges (its connections are gone)', () => {
  const c = carryOver(undefined, [worker(0, 3, 30, 2), worker(1, 4, 40, 5)]);
  assert.equal(c.index, -1);
  assert.deepEqual(c.engine.total, stats(7, 70));
  assert.deepEqual(c.engine.drops, { 'no-service': 2 });
  assert.equal(c.engine.conns, 0);
  const d = c.engine.services[0].dests[0];
  assert.deepEqual([d.stats.conns, d.activeConns, d.inactConns, d.persistConns], [7, 0, 0, 0]);
  assert.deepEqual([c.io.rxFrames, c.io.offloadActive], [70, 0]);
  // A second restart adds to what the first left.
  assert.deepEqual(carryOver(c, [worker(0, 1, 10, 1)]).engine.total, stats(8, 80));
});

test('mergeWithCarried adds the carried counters to the live ones; the worker list is the live set only', () => {
  const carried = carryOver(undefined, [worker(0, 7, 70, 3)]);
  const live = [worker(0, 1, 10, 1), worker(1, 2, 20, 0)];
  const m = mergeWithCarried(live, carried);
  assert.deepEqual(m.engine.total, stats(10, 100));
  assert.deepEqual(m.engine.services[0].dests[0].activeConns, 1, 'only the live set\'s connections are active');
  assert.deepEqual(m.workers.map((w) => w.index), [0, 1]);
  assert.deepEqual(mergeWithCarried(live, undefined), merge(live));
});
