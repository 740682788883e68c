import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import { type LocalityBasedLeastConnectionReplicated, lblcrScheduler } from './lblcr.js';
import { destConfig, flow, ip, makeTable, svcConfig, svcKey } from './testing.js';

const KEY = svcKey('tcp', '10.0.0.1:80');
const label = (d: Destination | undefined) => (d ? 'ABCDEFGH'[d.addr.bytes[3] - 1] : '-');
const ep = (name: string) => `10.0.1.${'ABCDEFGH'.indexOf(name) + 1}:80`;
const S = 1000;

function setup(weights: Record<string, number>, lblcrExpirationS = 86400) {
  const t = makeTable([lblcrScheduler], { lblcrExpirationS });
  const svc = t.table.addService(svcConfig(KEY, 'lblcr'));
  const by: Record<string, Destination> = {};
  for (const [n, w] of Object.entries(weights).reverse()) by[n] = t.table.addDest(KEY, destConfig(ep(n), w));
  const sched = svc.sched as LocalityBasedLeastConnectionReplicated;
  const to = (dst: string) => label(sched.schedule(svc, flow('192.0.2.1:40000', `${dst}:80`)));
  const set = (dst: string) => (sched.table.get(ip(dst))?.set ?? []).map(label).join('');
  return { ...t, svc, by, sched, to, set };
}

test('lblcr creates a one-member set by WLC and then serves the set (spec §1 lblcr)', () => {
  const s = setup({ A: 1, B: 1 });
  assert.equal(s.to('198.18.0.1'), 'A');
  assert.equal(s.set('198.18.0.1'), 'A');
  s.by.A.inactConns = 5; // WLC would pick B now
  assert.equal(s.to('198.18.0.1'), 'A');
  assert.equal(s.to('198.18.0.2'), 'B');
});

test('lblcr adds the WLC pick to the set when the set minimum is locally overloaded (spec §1 lblcr)', () => {
  const s = setup({ A: 1, B: 4 });
  assert.equal(s.to('198.18.0.1'), 'A');
  s.by.A.activeConns = 2; // > weight 1, and B: 0*2 < 4 -> overloaded; WLC: A 512/1, B 0/4 -> B
  s.clock.advance(10 * S);
  assert.equal(s.to('198.18.0.1'), 'B');
  assert.equal(s.set('198.18.0.1'), 'BA'); // newest member first
  assert.equal(s.sched.table.get(ip('198.18.0.1'))?.lastmod, 10 * S);
  // The set minimum is now chosen by weighted least connection: B (0/4) over A (512/1).
  assert.equal(s.to('198.18.0.1'), 'B');
});

test('lblcr set minimum skips OVERLOAD, weight 0 and deleted members (spec §1 lblcr)', () => {
  const s = setup({ A: 1, B: 1, C: 1 });
  s.to('198.18.0.1'); // set A
  s.by.A.activeConns = 2;
  s.by.B.activeConns = 0; // A overloaded vs B (0*2 < 1) -> WLC picks B (A: 512, B: 0, C: 0 -> B first)
  assert.equal(s.to('198.18.0.1'), 'B');
  s.by.A.activeConns = 0;
  s.by.A.inactConns = 1;
  assert.equal(s.set('198.18.0.1'), 'BA');
  s.by.B.inactConns = 3; // set min: B 3/1 vs A 1/1 -> A
  assert.equal(s.to('198.18.0.1'), 'A');
  s.by.A.flags |= DEST_F_OVERLOAD; // -> B
  assert.equal(s.to('198.18.0.1'), 'B');
  s.by.A.flags &= ~DEST_F_OVERLOAD;
  s.table.editDest(KEY, destConfig(ep('A'), 0)); // quiescent -> B
  assert.equal(s.to('198.18.0.1'), 'B');
  s.table.editDest(KEY, destConfig(ep('A'), 1));
  s.table.deleteDest(KEY, s.by.A.addr, 80); // not AVAILABLE -> B
  assert.equal(s.to('198.18.0.1'), 'B');
});

test('lblcr with no usable member and no WLC candidate gives no destination (spec §1 lblcr, overload flag)', () => {
  const s = setup({ A: 1 });
  s.to('198.18.0.1');
  s.by.A.flags |= DEST_F_OVERLOAD;
  assert.equal(s.to('198.18.0.1'), '-');
  assert.equal(s.to('198.18.0.2'), '-');
});

test('lblcr removes the most loaded member once the set is older than lblcr_expiration (spec §1 lblcr)', () => {
  const s = setup({ A: 1, B: 4 }, 600);
  s.to('198.18.0.1'); // set A
  s.by.A.activeConns = 2;
  s.clock.set(10 * S);
  assert.equal(s.to('198.18.0.1'), 'B'); // set B A, lastmod 10 s
  s.clock.set(610 * S); // 610 > 10 + 600 is false: nothing removed
  s.to('198.18.0.1');
  assert.equal(s.set('198.18.0.1'), 'BA');
  s.clock.set(611 * S); // most loaded by overhead/weight: A (512/1) over B (0/4)
  assert.equal(s.to('198.18.0.1'), 'B');
  assert.equal(s.set('198.18.0.1'), 'B');
  assert.equal(s.sched.table.get(ip('198.18.0.1'))?.lastmod, 611 * S);
});

test('lblcr never shrinks a one-member set (spec §1 lblcr)', () => {
  const s = setup({ A: 1 }, 60);
  s.to('198.18.0.1');
  s.clock.set(1000 * S);
  assert.equal(s.to('198.18.0.1'), 'A');
  assert.equal(s.set('198.18.0.1'), 'A');
});

test('lblcr expires idle entries at the full check with lblcr_expiration (spec §1 lblcr)', () => {
  const s = setup({ A: 1 }, 60);
  s.to('198.18.0.1');
  s.clock.set(1799 * S);
  s.to('198.18.0.9');
  assert.equal(s.set('198.18.0.1'), 'A');
  s.clock.set(1800 * S);
  s.to('198.18.0.9');
  assert.equal(s.set('198.18.0.1'), '');
  assert.equal(s.set('198.18.0.9'), 'A');
});
