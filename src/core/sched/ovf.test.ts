import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pick } from './testing.js';
import { ovfScheduler } from './ovf.js';

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
