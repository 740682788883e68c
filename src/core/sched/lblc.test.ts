import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv4FromU32 } from '../net/addr.js';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import { type LocalityBasedLeastConnection, lblcScheduler } from './lblc.js';
import { destConfig, flow, ip, makeTable, svcConfig, svcKey } from './testing.js';

const KEY = svcKey('tcp', '10.0.0.1:80');
const label = (d: Destination | undefined) => (d ? 'ABCDEFGH'[d.addr.bytes[3] - 1] : '-');
const ep = (name: string) => `10.0.1.${'ABCDEFGH'.indexOf(name) + 1}:80`;
const S = 1000;

/** An lblc service whose list order (newest first) is the key order of `weights`. */
function setup(weights: Record<string, number>, lblcExpirationS = 86400) {
  const t = makeTable([lblcScheduler], { lblcExpirationS });
  const svc = t.table.addService(svcConfig(KEY, 'lblc'));
  const by: Record<string, Destination> = {};
  for (const [n, w] of Object.entries(weights).reverse()) by[n] = t.table.addDest(KEY, destConfig(ep(n), w));
  const sched = svc.sched as LocalityBasedLeastConnection;
  const to = (dst: string) => label(sched.schedule(svc, flow('192.0.2.1:40000', `${dst}:80`)));
  const cached = (dst: string) => label(sched.table.get(ip(dst))?.dest);
  return { ...t, svc, by, sched, to, cached };
}

test('lblc caches the destination per packet destination address (spec §1 lblc)', () => {
  const s = setup({ A: 1, B: 1 });
  assert.equal(s.to('198.18.0.1'), 'A'); // WLC tie: first in list order
  s.by.A.inactConns = 5; // WLC would now pick B...
  assert.equal(s.to('198.18.0.1'), 'A'); // ...but the cache hit wins
  assert.equal(s.to('198.18.0.2'), 'B'); // another address: WLC
  assert.equal(s.sched.table.size, 2);
});

test('lblc refreshes lastuse on a cache hit (spec §1 lblc)', () => {
  const s = setup({ A: 1 });
  s.to('198.18.0.1');
  s.clock.advance(5 * S);
  s.to('198.18.0.1');
  assert.equal(s.sched.table.get(ip('198.18.0.1'))?.lastuse, 5 * S);
});

test('lblc drops a cached destination that is locally overloaded: active > weight while another is under half (spec §1 lblc)', () => {
  const s = setup({ A: 1, B: 4 });
  s.by.B.activeConns = 2; // WLC: A 0/1 vs B 512/4 -> A
  assert.equal(s.to('198.18.0.1'), 'A');
  s.by.A.activeConns = 2; // 2 > weight 1, but B: 2*2 < 4 is false -> not overloaded
  assert.equal(s.to('198.18.0.1'), 'A');
  s.by.B.activeConns = 1; // now B: 1*2 < 4 -> A is overloaded; WLC: A 512/1 vs B 256/4 -> B
  assert.equal(s.to('198.18.0.1'), 'B');
  assert.equal(s.cached('198.18.0.1'), 'B');
});

test('lblc replaces a cached destination of weight 0 (quiescent) through WLC (spec §1 lblc, weight 0)', () => {
  const s = setup({ A: 1, B: 1 });
  assert.equal(s.to('198.18.0.1'), 'A');
  s.table.editDest(KEY, destConfig(ep('A'), 0));
  assert.equal(s.to('198.18.0.1'), 'B');
  assert.equal(s.cached('198.18.0.1'), 'B');
});

test('lblc does not use an OVERLOAD cached destination, nor pick one by WLC (spec §1 overload flag; tsvs on purpose)', () => {
  const s = setup({ A: 1, B: 1 });
  assert.equal(s.to('198.18.0.1'), 'A');
  s.by.A.flags |= DEST_F_OVERLOAD;
  assert.equal(s.to('198.18.0.1'), 'B');
  s.by.B.flags |= DEST_F_OVERLOAD;
  assert.equal(s.to('198.18.0.2'), '-');
});

test('lblc ignores a cached destination that was deleted (not AVAILABLE) (spec §1 lblc)', () => {
  const s = setup({ A: 1, B: 1 });
  assert.equal(s.to('198.18.0.1'), 'A');
  s.table.deleteDest(KEY, s.by.A.addr, 80);
  assert.equal(s.to('198.18.0.1'), 'B');
});

test('lblc WLC fallback uses active*256 + inactive over weight (spec §1 lblc)', () => {
  const s = setup({ A: 1, B: 3 });
  s.by.A.activeConns = 1; // 256/1 vs 512/3 -> B
  s.by.B.activeConns = 2;
  assert.equal(s.to('198.18.0.1'), 'B');
});

test('lblc expires idle entries only at the full check, every 30th 60 s pass (spec §1 lblc)', () => {
  const s = setup({ A: 1, B: 1 }, 60);
  s.to('198.18.0.1'); // lastuse 0; passes at 60 s, 120 s, ...; the 30th (1800 s) is the full check
  s.clock.set(1799 * S);
  s.to('198.18.0.9'); // runs the 29 due passes lazily
  assert.equal(s.cached('198.18.0.1'), 'A');
  assert.equal(s.sched.table.counter, 30);
  s.clock.set(1800 * S);
  s.to('198.18.0.9');
  assert.equal(s.cached('198.18.0.1'), '-');
  assert.equal(s.cached('198.18.0.9'), 'A'); // used at 1799 s: 1800 < 1799 + 60
  assert.equal(s.sched.table.counter, 1);
});

test('lblc keeps entries used within lblc_expiration and drops them at a later full check (spec §1 lblc)', () => {
  const s = setup({ A: 1 }, 600);
  s.to('198.18.0.1');
  s.clock.set(1500 * S);
  s.to('198.18.0.1'); // lastuse 1500 s
  s.clock.set(1800 * S);
  s.sched.table.runDue(); // full check: 1800 < 1500 + 600 -> kept
  assert.equal(s.cached('198.18.0.1'), 'A');
  s.clock.set(3599 * S);
  s.sched.table.runDue();
  assert.equal(s.cached('198.18.0.1'), 'A');
  s.clock.set(3600 * S); // next full check (60th pass): 3600 >= 2100 -> dropped
  s.sched.table.runDue();
  assert.equal(s.sched.table.size, 0);
});

test('lblc over max_size drops entries idle for 6 min, bucket by bucket, up to (n - max)*4/3 (spec §1 lblc)', () => {
  const s = setup({ A: 1 });
  const n = 16384 + 300;
  const svc = s.svc;
  for (let i = 0; i < n; i++) {
    const f = { protocol: 'tcp' as const, srcAddr: ip('192.0.2.1'), srcPort: 1, dstAddr: ipv4FromU32(0x0a000000 + i), dstPort: 80 };
    s.sched.schedule(svc, f);
  }
  assert.equal(s.sched.table.size, n);
  // Passes at 60..300 s: over max_size but nothing idle for 6 min; counter stays 1, rover 0.
  s.clock.set(300 * S);
  s.sched.table.runDue();
  assert.deepEqual([s.sched.table.size, s.sched.table.counter, s.sched.table.rover], [n, 1, 0]);
  // At 360 s: goal 300*4/3 = 400. A throwaway Python script counting hash_32(0x0a000000 + i, 10)
  // per bucket for these addresses finds 406 entries in buckets 1..25 (the bucket that reaches
  // the goal is finished).
  s.clock.set(360 * S);
  s.sched.table.runDue();
  assert.deepEqual([s.sched.table.size, s.sched.table.counter, s.sched.table.rover], [n - 406, 1, 25]);
  s.clock.set(420 * S); // within max_size again: the pass only counts
  s.sched.table.runDue();
  assert.deepEqual([s.sched.table.size, s.sched.table.counter], [n - 406, 2]);
});

test('lblc flushes its table when unbound (spec §1 lblc)', () => {
  const s = setup({ A: 1 });
  s.to('198.18.0.1');
  s.table.editService(svcConfig(KEY, 'none'));
  assert.equal(s.sched.table.size, 0);
});
