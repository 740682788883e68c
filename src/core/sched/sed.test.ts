import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pick } from './testing.js';
import { sedScheduler } from './sed.js';

test('sed minimises (active + 1) / weight by cross-multiplication (spec §1 sed)', () => {
  // A: 2/1, B: 5/3 -> 2*3 = 6 > 5*1, B wins.
  assert.equal(pick(sedScheduler, { A: { w: 1, a: 1 }, B: { w: 3, a: 4 } }), 'B');
  // A: 2/1, B: 7/3 -> 6 > 7 is false, A stays.
  assert.equal(pick(sedScheduler, { A: { w: 1, a: 1 }, B: { w: 3, a: 6 } }), 'A');
});

test('sed ignores inactive connections (spec §1 sed)', () => {
  assert.equal(pick(sedScheduler, { A: { i: 1000 }, B: { a: 1 } }), 'A');
});

test('sed ties keep the earlier destination in list order (spec §1 sed)', () => {
  assert.equal(pick(sedScheduler, { A: { w: 1, a: 1 }, B: { w: 2, a: 3 } }), 'A');
});

test('sed skips OVERLOAD destinations (spec §1 overload flag)', () => {
  assert.equal(pick(sedScheduler, { A: { o: true }, B: { a: 9 } }), 'B');
  assert.equal(pick(sedScheduler, { A: { a: 9 }, B: { o: true } }), 'A');
});

test('sed never picks weight 0 (quiescent) destinations (spec §1 weight 0)', () => {
  assert.equal(pick(sedScheduler, { A: { w: 0 }, B: { a: 9 } }), 'B');
  assert.equal(pick(sedScheduler, { A: { a: 9 }, B: { w: 0 } }), 'A');
  assert.equal(pick(sedScheduler, { A: { w: 0 } }), '-');
});
