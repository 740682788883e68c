import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TurnClock } from './turn-clock.js';

function spinMs(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* busy: the clock must move underneath */ }
}

test('turn clock: one reading while held, live readings otherwise', () => {
  const c = new TurnClock();
  const a = c.nowMs();
  spinMs(2);
  assert.ok(c.nowMs() > a, 'unheld reads follow the time');
  c.hold();
  const held = c.nowMs();
  spinMs(2);
  assert.equal(c.nowMs(), held, 'every event of one turn sees the same time');
  c.release();
  assert.ok(c.nowMs() >= held + 2, 'after the turn, reads are live again');
  c.hold();
  assert.ok(c.nowMs() >= held + 2, 'a new turn takes a new reading');
});
