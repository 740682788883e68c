import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { TimerWheel } from './timer-wheel.js';

function run(w: TimerWheel, clock: ManualClock, toMs: number): number[] {
  clock.set(toMs);
  const out: number[] = [];
  w.advance(clock.nowMs(), (s) => out.push(s));
  return out;
}

describe('timer wheel (spec §2.4 expiry on the injected clock)', () => {
  it('expires slots in deadline order, exactly when expires <= now (spec §2.4)', () => {
    const clock = new ManualClock(1000);
    const w = new TimerWheel(8, clock.nowMs());
    w.arm(0, 61_000); // conn A: 60 s
    w.arm(1, 3_000); // conn B: 2 s
    w.arm(2, 11_000); // conn C: 10 s
    w.arm(3, 901_000); // conn D: 900 s (beyond one wheel turn of ≈524 s)
    assert.deepEqual(run(w, clock, 2_999), []);
    assert.deepEqual(run(w, clock, 3_000), [1]);
    assert.deepEqual(run(w, clock, 10_999), []);
    assert.deepEqual(run(w, clock, 61_000), [2, 0]);
    assert.deepEqual(run(w, clock, 900_999), []);
    assert.deepEqual(run(w, clock, 901_000), [3]);
  });

  it('a jump over many turns expires everything due and nothing else (spec §2.4)', () => {
    const clock = new ManualClock(0);
    const w = new TimerWheel(4, 0);
    w.arm(0, 5_000);
    w.arm(1, 2_000_000);
    w.arm(2, 10_000_000);
    assert.deepEqual(run(w, clock, 3_000_000).sort(), [0, 1]);
    assert.ok(w.isArmed(2));
    assert.deepEqual(run(w, clock, 10_000_000), [2]);
  });

  it('a later deadline (every packet re-arms) postpones expiry; an earlier one advances it (ip_vs_conn_put)', () => {
    const clock = new ManualClock(0);
    const w = new TimerWheel(4, 0);
    w.arm(0, 60_000);
    w.arm(1, 900_000);
    clock.set(50_000);
    w.rearm(0, 50_000 + 60_000); // new packet
    w.rearm(1, 50_000 + 10_000); // state went to CLOSE: 10 s
    assert.deepEqual(run(w, clock, 60_000), [1]);
    assert.deepEqual(run(w, clock, 109_999), []);
    assert.deepEqual(run(w, clock, 110_000), [0]);
  });

  it('cancel removes a deadline; the callback may re-arm (the 60 s delay) (spec §2.4)', () => {
    const clock = new ManualClock(0);
    const w = new TimerWheel(4, 0);
    w.arm(0, 1_000);
    w.arm(1, 1_000);
    w.cancel(1);
    const seen: number[] = [];
    clock.set(1_000);
    w.advance(1_000, (s) => { seen.push(s); w.arm(s, 61_000); });
    assert.deepEqual(seen, [0]);
    assert.ok(w.isArmed(0));
    assert.ok(!w.isArmed(1));
    assert.deepEqual(run(w, clock, 61_000), [0]);
  });

  it('a deadline in the past expires at the next advance, even at the same time', () => {
    const clock = new ManualClock(5_000);
    const w = new TimerWheel(2, 5_000);
    assert.deepEqual(run(w, clock, 5_000), []);
    w.arm(0, 4_000);
    assert.deepEqual(run(w, clock, 5_000), [0]);
  });

  it('grows without losing deadlines', () => {
    const clock = new ManualClock(0);
    const w = new TimerWheel(2, 0);
    w.arm(0, 100);
    w.arm(1, 200);
    w.grow(10);
    w.arm(9, 150);
    assert.deepEqual(run(w, clock, 1_000), [0, 9, 1]);
  });
});
