import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pick } from './testing.js';
import { foScheduler } from './fo.js';

test('fo picks the highest weight regardless of load (spec §1 fo)', () => {
  assert.equal(pick(foScheduler, { A: { w: 2 }, B: { w: 5, a: 1000 }, C: { w: 3 } }), 'B');
});

test('fo ties keep the earlier destination in list order (spec §1 fo)', () => {
  assert.equal(pick(foScheduler, { A: { w: 1 }, B: { w: 5 }, C: { w: 5 } }), 'B');
});

test('fo skips OVERLOAD destinations (spec §1 overload flag)', () => {
  assert.equal(pick(foScheduler, { A: { w: 5, o: true }, B: { w: 2 } }), 'B');
  assert.equal(pick(foScheduler, { A: { w: 5, o: true } }), '-');
});

test('fo never picks weight 0 (quiescent) destinations (spec §1 weight 0)', () => {
  assert.equal(pick(foScheduler, { A: { w: 0 } }), '-');
  assert.equal(pick(foScheduler, { A: { w: 0 }, B: { w: 1 } }), 'B');
});
