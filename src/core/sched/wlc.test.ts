import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pick } from './testing.js';
import { wlcScheduler } from './wlc.js';

test('wlc compares overhead/weight by cross-multiplication (spec §1 wlc)', () => {
  // A: 256/1, B: 512/3 -> 256*3 = 768 > 512*1, B is less loaded.
  assert.equal(pick(wlcScheduler, { A: { w: 1, a: 1 }, B: { w: 3, a: 2 } }), 'B');
  // A: 256/1, B: 1024/3 -> 768 > 1024 is false, A stays.
  assert.equal(pick(wlcScheduler, { A: { w: 1, a: 1 }, B: { w: 3, a: 4 } }), 'A');
});

test('wlc uses active*256 + inactive as the load (spec §1 wlc, load metric)', () => {
  assert.equal(pick(wlcScheduler, { A: { a: 1 }, B: { i: 255 } }), 'B');
  assert.equal(pick(wlcScheduler, { A: { a: 1 }, B: { i: 257 } }), 'A');
});

test('wlc ties keep the earlier destination in list order (spec §1 wlc)', () => {
  assert.equal(pick(wlcScheduler, { A: { w: 1, a: 1 }, B: { w: 2, a: 2 } }), 'A');
  assert.equal(pick(wlcScheduler, { A: { w: 1, a: 2 }, B: { w: 2, a: 2 }, C: { w: 4, a: 4 } }), 'B');
});

test('wlc skips OVERLOAD destinations (spec §1 overload flag)', () => {
  assert.equal(pick(wlcScheduler, { A: { o: true }, B: { a: 9 } }), 'B');
  assert.equal(pick(wlcScheduler, { A: { a: 9 }, B: { o: true } }), 'A');
  assert.equal(pick(wlcScheduler, { A: { o: true } }), '-');
});

test('wlc never picks weight 0 (quiescent) destinations, first or later (spec §1 wlc, weight 0)', () => {
  assert.equal(pick(wlcScheduler, { A: { w: 0 }, B: { a: 9 } }), 'B');
  // A later weight-0 destination with no load: loh*0 > 0*w is false, so it cannot win.
  assert.equal(pick(wlcScheduler, { A: { a: 9 }, B: { w: 0 } }), 'A');
  assert.equal(pick(wlcScheduler, { A: { w: 0 } }), '-');
});
