import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pick } from './testing.js';
import { nqScheduler } from './nq.js';

test('nq returns the first idle destination at once (spec §1 nq)', () => {
  assert.equal(pick(nqScheduler, { A: { w: 10, a: 1 }, B: { w: 1, a: 0, i: 50 }, C: { w: 100, a: 0 } }), 'B');
});

test('nq without an idle destination behaves like sed: (active+1)/weight, ties keep the earlier (spec §1 nq)', () => {
  assert.equal(pick(nqScheduler, { A: { w: 1, a: 1 }, B: { w: 3, a: 4 } }), 'B');
  assert.equal(pick(nqScheduler, { A: { w: 1, a: 1 }, B: { w: 2, a: 3 } }), 'A');
});

test('nq skips OVERLOAD destinations, idle or not (spec §1 overload flag)', () => {
  assert.equal(pick(nqScheduler, { A: { o: true }, B: { a: 3 } }), 'B');
  assert.equal(pick(nqScheduler, { A: { o: true } }), '-');
});

test('nq skips weight 0 (quiescent) destinations, idle or not (spec §1 weight 0)', () => {
  assert.equal(pick(nqScheduler, { A: { w: 0 }, B: { a: 3 } }), 'B');
  assert.equal(pick(nqScheduler, { A: { a: 3 }, B: { w: 0 } }), 'A');
});
