import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pick } from './testing.js';
import { lcScheduler } from './lc.js';

test('lc picks the minimal active*256 + inactive (spec §1 lc, load metric <<8)', () => {
  // 1 active = 256 > 255 inactive; with <<5 it would be 32 < 255 and A would win.
  assert.equal(pick(lcScheduler, { A: { a: 1 }, B: { i: 255 } }), 'B');
  assert.equal(pick(lcScheduler, { A: { a: 1 }, B: { i: 257 } }), 'A');
});

test('lc ties keep the earlier destination in list order (spec §1 lc)', () => {
  assert.equal(pick(lcScheduler, { A: { a: 1 }, B: { i: 256 }, C: { i: 256 } }), 'A');
  assert.equal(pick(lcScheduler, { A: { a: 2 }, B: { i: 3 }, C: { i: 3 } }), 'B');
});

test('lc ignores the weight magnitude (spec §1 lc)', () => {
  assert.equal(pick(lcScheduler, { A: { w: 100, i: 10 }, B: { w: 1, i: 5 } }), 'B');
});

test('lc skips OVERLOAD destinations (spec §1 overload flag)', () => {
  assert.equal(pick(lcScheduler, { A: { o: true }, B: { a: 5 } }), 'B');
  assert.equal(pick(lcScheduler, { A: { o: true } }), '-');
});

test('lc skips weight 0 (quiescent) destinations (spec §1 weight 0)', () => {
  assert.equal(pick(lcScheduler, { A: { w: 0 }, B: { a: 5 } }), 'B');
  assert.equal(pick(lcScheduler, { A: { w: 0 } }), '-');
});
