import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import { type DestinationHashing, dhScheduler } from './dh.js';
import { destConfig, flow, makeTable, svcConfig, svcKey } from './testing.js';

const KEY = svcKey('tcp', '10.0.0.1:80');
const label = (d: Destination | undefined) => (d ? 'ABCDEFGH'[d.addr.bytes[3] - 1] : '-');
const ep = (name: string) => `10.0.1.${'ABCDEFGH'.indexOf(name) + 1}:80`;

function setup(weights: Record<string, number>) {
  const { table } = makeTable([dhScheduler]);
  const svc = table.addService(svcConfig(KEY, 'dh'));
  const by: Record<string, Destination> = {};
  for (const [n, w] of Object.entries(weights).reverse()) by[n] = table.addDest(KEY, destConfig(ep(n), w));
  const sched = svc.sched as DestinationHashing;
  const layout = () => sched.buckets.map(label).join('');
  const to = (dst: string) => label(sched.schedule(svc, flow('192.0.2.1:40000', dst)));
  return { table, svc, sched, by, layout, to };
}

// Expected buckets: hash_32(ntohl(daddr), 8), from a throwaway Python script written from
// include/linux/hash.h: 10.0.0.1 -> 39, 10.0.0.2 -> 137, 10.0.0.3 -> 235, 10.1.2.3 -> 2.

test('dh fills one bucket per destination in turn, ignoring weights (spec §1 dh)', () => {
  const s = setup({ A: 5, B: 1, C: 0 });
  assert.equal(s.layout(), 'ABC'.repeat(86).slice(0, 256));
});

test('dh hashes the packet destination address (spec §1 dh)', () => {
  const s = setup({ A: 1, B: 1, C: 1 });
  assert.equal(s.to('10.0.0.1:80'), 'A'); // 39 % 3 = 0
  assert.equal(s.to('10.0.0.2:80'), 'C'); // 137 % 3 = 2
  assert.equal(s.to('10.0.0.3:80'), 'B'); // 235 % 3 = 1
  assert.equal(s.to('10.1.2.3:443'), 'C'); // 2
});

test('dh gives no destination for a weight 0 (quiescent) bucket, with no fallback (spec §1 dh)', () => {
  const s = setup({ A: 1, B: 1, C: 0 });
  assert.equal(s.to('10.0.0.2:80'), '-');
  assert.equal(s.to('10.0.0.1:80'), 'A');
});

test('dh gives no destination for an OVERLOAD bucket (spec §1 dh, overload flag)', () => {
  const s = setup({ A: 1, B: 1, C: 1 });
  s.by.A.flags |= DEST_F_OVERLOAD;
  assert.equal(s.to('10.0.0.1:80'), '-');
  assert.equal(s.to('10.0.0.3:80'), 'B');
});

test('dh reassigns on add and del but not on upd (spec §1 dh)', () => {
  const s = setup({ A: 1, B: 1 });
  let calls = 0;
  const orig = s.sched.reassign.bind(s.sched);
  s.sched.reassign = (svc) => { calls++; orig(svc); };
  s.table.editDest(KEY, destConfig(ep('A'), 7));
  assert.equal(calls, 0);
  s.table.addDest(KEY, destConfig(ep('C'), 1));
  assert.equal(calls, 1);
  assert.equal(s.layout().slice(0, 6), 'CABCAB');
  s.table.deleteDest(KEY, s.by.A.addr, 80);
  assert.equal(calls, 2);
  assert.equal(s.layout().slice(0, 4), 'CBCB');
});

test('dh with no destinations schedules nothing (spec §1 dh)', () => {
  const s = setup({});
  assert.equal(s.to('10.0.0.1:80'), '-');
});
