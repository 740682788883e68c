import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsCounters } from './counters.js';
import { RateEstimator } from './rate-estimator.js';
import { ManualClock } from '../clock.js';

test('estimator converges on a steady rate with the kernel rounding (spec §5.8)', () => {
  const c = new StatsCounters();
  // 100 conns/s, 1000 pkts/s in, 50000 bytes/s in, for 2-second periods.
  // 100 periods: (3/4)^100 of the gap is left, so avg sits within 3 of the rate (the >> 2 stall).
  for (let i = 0; i < 100; i++) {
    c.conns += 200; c.inPkts += 2000; c.inBytes += 100000;
    c.estimatorStep();
  }
  assert.deepEqual(c.rates(), { cps: 100, inpps: 1000, outpps: 0, inbps: 50000, outbps: 0 });
});

test('estimator first period is a quarter of the rate: avg += (rate - avg) >> 2 (spec §5.8)', () => {
  const c = new StatsCounters();
  c.conns += 8; // 4 conns/s over 2 s -> rate = 8 << 9 = 4096 (scaled 2^10) -> avg = 1024 -> 1 cps
  c.inBytes += 64; // 32 B/s -> rate = 64 << 4 = 1024 (scaled 2^5) -> avg 256 -> (256+15)>>5 = 8
  c.estimatorStep();
  assert.equal(c.rates().cps, 1);
  assert.equal(c.rates().inbps, 8);
});

test('zeroing makes the snapshot start at zero and resets the estimator (spec §5.8 kstats0)', () => {
  const c = new StatsCounters();
  c.conns = 10; c.inPkts = 20; c.outBytes = 7;
  c.estimatorStep();
  c.zeroCounters();
  assert.deepEqual(c.snapshot(), { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 });
  assert.deepEqual(c.rates(), { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });
  c.conns += 3;
  assert.equal(c.snapshot().conns, 3);
  assert.equal(c.raw().conns, 13);
});

test('RateEstimator runs one period per 2 s of clock time', () => {
  const clock = new ManualClock(0);
  const c = new StatsCounters();
  let steps = 0;
  const est = new RateEstimator(clock, () => { steps++; return [c]; });
  est.tick();
  assert.equal(steps, 0);
  clock.advance(1999); est.tick();
  assert.equal(steps, 0);
  clock.advance(1); est.tick();
  assert.equal(steps, 1);
  clock.advance(6000); est.tick();
  assert.equal(steps, 4);
});
