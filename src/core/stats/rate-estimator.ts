// Drives the kernel's 2-second rate estimator (spec §5.8) over every counter of a service table,
// from the injected clock: call tick() as often as you like; it runs one estimator period per
// 2 s that has passed (catching up after a pause, at most a bounded number of periods).
import type { Clock } from '../clock.js';
import type { StatsCounters } from './counters.js';

export const ESTIMATOR_PERIOD_MS = 2000;
/** After a long pause the averages have decayed to the new rate anyway; don't loop forever. */
const MAX_CATCH_UP_PERIODS = 64;

export class RateEstimator {
  private nextMs: number;

  /** `counters` is called on every period and returns every StatsCounters to update. */
  constructor(private readonly clock: Clock, private readonly counters: () => Iterable<StatsCounters>) {
    this.nextMs = clock.nowMs() + ESTIMATOR_PERIOD_MS;
  }

  tick(): void {
    const now = this.clock.nowMs();
    let periods = 0;
    while (now >= this.nextMs && periods < MAX_CATCH_UP_PERIODS) {
      for (const c of this.counters()) c.estimatorStep();
      this.nextMs += ESTIMATOR_PERIOD_MS;
      periods++;
    }
    if (now >= this.nextMs) this.nextMs = now + ESTIMATOR_PERIOD_MS;
  }
}
