// fo — Weighted Fail Over (ip_vs_fo.c, spec §1 fo).
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import type { Scheduler, SchedulerFactory } from './scheduler.js';

class WeightedFailOver implements Scheduler {
  readonly name = 'fo';

  schedule(svc: VirtualService): Destination | undefined {
    let best: Destination | undefined;
    let hw = 0; // only weights > 0 qualify
    for (const d of svc.destinations) {
      // Strict '>': ties keep the earlier destination.
      if (!d.isSkipped && d.weight > hw) {
        best = d;
        hw = d.weight;
      }
    }
    return best;
  }
}

/** Weighted Fail Over: the non-overloaded destination with the highest weight (spec §1 fo). */
export const foScheduler: SchedulerFactory = {
  name: 'fo',
  create: () => new WeightedFailOver(),
};
