// The daemon side of the packet data plane without a plane: the table rebuilt as ops for the
// workers, and the workers' counters copied back into the main table (with -Z kept there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/clock.js';
import { parseIp } from '../../core/net/addr.js';
import { SeededRandom } from '../../core/random.js';
import { registerBuiltinSchedulers } from '../../core/sched/builtin.js';
import { SchedulerRegistry } from '../../core/sched/scheduler.js';
import { ServiceTable } from '../../core/service/service-table.js';
import { DEST_DEFAULTS } from '../../core/service/types.js';
import { merge } from '../../dataplane/packet/plane-snapshot.js';
import { newIoCounters } from '../../dataplane/packet/worker-protocol.js';
import { copyCounters, tableOps } from './packet-dataplane.js';

function table(): ServiceTable {
  const registry = new SchedulerRegistry();
  registerBuiltinSchedulers(registry);
  const clock = new ManualClock(0);
  return new ServiceTable({ registry, env: { clock, random: new SeededRandom(1), mhTableSize: 4093, lblcExpirationS: 86400, lblcrExpirationS: 86400 } });
}

const VIP = parseIp('198.18.1.100')!;
const KEY = { kind: 'addr' as const, protocol: 'udp' as const, addr: VIP, port: 53 };
const RS = ['198.18.1.11', '198.18.1.12', '198.18.1.13'].map((a) => parseIp(a)!);

function filled(): ServiceTable {
  const t = table();
  t.addService({ key: KEY, scheduler: 'wrr', flags: 0, timeoutS: 0, netmask: 0xffffffff });
  RS.forEach((addr, i) => t.addDest(KEY, { ...DEST_DEFAULTS, addr, port: 53, method: 'droute', weight: i + 1 }));
  return t;
}

test('tableOps rebuilds a table with the same services and the same destination order (newest first)', () => {
  const src = filled();
  const ops = tableOps(src);
  assert.deepEqual(ops.map((o) => o.op), ['add-service', 'add-dest', 'add-dest', 'add-dest']);
  const dst = table();
  for (const o of ops) {
    if (o.op === 'add-service') dst.addService(o.service);
    else if (o.op === 'add-dest') dst.addDest(o.key, o.dest);
  }
  const order = (t: ServiceTable) => t.services()[0].destinations.map((d) => `${d.addr.bytes.join('.')}/${d.weight}`);
  assert.deepEqual(order(dst), order(src));
  assert.deepEqual(order(src), ['198.18.1.13/3', '198.18.1.12/2', '198.18.1.11/1']);
});

test('copyCounters puts the workers\' raw counters into services, destinations and totals; -Z on the main table still works', () => {
  const t = filled();
  const stats = (n: number) => ({ conns: n, inPkts: 10 * n, outPkts: 0, inBytes: 100 * n, outBytes: 0 });
  const worker = (n: number) => ({
    index: 0, atMs: 0, neighbours: 0, io: newIoCounters(),
    engine: {
      services: [{ key: KEY, stats: stats(3 * n), dests: RS.map((addr) => ({ addr, port: 53, stats: stats(n), activeConns: 0, inactConns: n, persistConns: 0 })) }],
      total: stats(3 * n), drops: {}, conns: 3 * n,
    },
  });
  copyCounters(t, merge([worker(2), worker(1)]));
  const svc = t.services()[0];
  assert.deepEqual(svc.stats.snapshot(), stats(9));
  for (const d of svc.destinations) {
    assert.deepEqual(d.stats.snapshot(), stats(3));
    assert.deepEqual([d.activeConns, d.inactConns, d.persistConns], [0, 3, 0]);
  }
  assert.deepEqual(t.totals.snapshot(), stats(9));
  svc.stats.zeroCounters();
  copyCounters(t, merge([worker(3), worker(1)]));
  assert.deepEqual(svc.stats.snapshot(), stats(12 - 9), 'counted since -Z');
  assert.deepEqual(t.totals.snapshot(), stats(12), 'totals not zeroed');
});
