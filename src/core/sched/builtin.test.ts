import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUILTIN_SCHEDULERS, registerBuiltinSchedulers } from './builtin.js';
import { SchedulerRegistry } from './scheduler.js';
import { destConfig, flow, makeTable, svcConfig, svcKey } from './testing.js';

const NAMES = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

test('all 14 kernel schedulers are registered under their ipvsadm names (spec §1)', () => {
  const r = new SchedulerRegistry();
  registerBuiltinSchedulers(r);
  assert.deepEqual([...r.names()].sort(), [...NAMES].sort());
  assert.equal(BUILTIN_SCHEDULERS.length, 14);
});

test('every scheduler refuses weight 0 (quiescent) destinations for new connections (spec §1 weight 0)', () => {
  for (const f of BUILTIN_SCHEDULERS) {
    const { table } = makeTable(BUILTIN_SCHEDULERS);
    const key = svcKey('tcp', '10.0.0.1:80');
    const svc = table.addService(svcConfig(key, f.name));
    table.addDest(key, destConfig('10.0.1.1:80', 0));
    table.addDest(key, destConfig('10.0.1.2:80', 0));
    for (let i = 1; i <= 20; i++) {
      assert.equal(svc.sched!.schedule(svc, flow(`192.0.2.${i}:${1000 + i}`, `198.18.0.${i}:80`)), undefined, f.name);
    }
  }
});

test('every scheduler refuses OVERLOAD destinations for new connections (spec §1 overload flag)', () => {
  for (const f of BUILTIN_SCHEDULERS) {
    const { table } = makeTable(BUILTIN_SCHEDULERS);
    const key = svcKey('tcp', '10.0.0.1:80');
    const svc = table.addService(svcConfig(key, f.name));
    const a = table.addDest(key, destConfig('10.0.1.1:80', 2, { uThreshold: 1 }));
    const b = table.addDest(key, destConfig('10.0.1.2:80', 3, { uThreshold: 1 }));
    for (let i = 1; i <= 20; i++) {
      // Warm up the caches of lblc/lblcr and the cursors while the destinations are fine.
      assert.notEqual(svc.sched!.schedule(svc, flow(`192.0.2.${i}:${1000 + i}`, `198.18.0.${i}:80`)), undefined, f.name);
    }
    a.bindConn('active');
    b.bindConn('inactive');
    assert.ok(a.isOverloaded && b.isOverloaded);
    for (let i = 1; i <= 20; i++) {
      assert.equal(svc.sched!.schedule(svc, flow(`192.0.2.${i}:${1000 + i}`, `198.18.0.${i}:80`)), undefined, f.name);
    }
  }
});
