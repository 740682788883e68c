import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBelow, SeededRandom, type RandomSource } from './random.js';

const scripted = (xs: number[]): RandomSource => { let i = 0; return { nextU32: () => xs[i++] }; };

test('randomBelow maps the top bits like get_random_u32_below (multiply-shift)', () => {
  assert.equal(randomBelow(scripted([0x80000001]), 10), 5);
  assert.equal(randomBelow(scripted([0xffffffff]), 10), 9);
  assert.equal(randomBelow(scripted([0x80000000]), 0x40000000), 0x20000000, 'BigInt path');
});

test('randomBelow rejects the biased low range and draws again', () => {
  // bound 3: threshold = (2^32 - 3) % 3 = 1; x = 0 gives low 0 < 1 -> rejected, then 0xffffffff -> 2.
  assert.equal(randomBelow(scripted([0, 0xffffffff]), 3), 2);
});

test('randomBelow stays in range and is roughly uniform', () => {
  const rng = new SeededRandom(42);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70000; i++) counts[randomBelow(rng, 7)]++;
  for (const c of counts) assert.ok(c > 9000 && c < 11000, `count ${c}`);
});
