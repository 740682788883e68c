// lc — Least Connection (ip_vs_lc.c, spec §1 lc).
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import type { Scheduler, SchedulerFactory } from './scheduler.js';

class LeastConnection implements Scheduler {
  readonly name = 'lc';

  schedule(svc: VirtualService): Destination | undefined {
    let least: Destination | undefined;
    let loh = 0;
    for (const d of svc.destinations) {
      if (d.isSkipped || d.weight <= 0) continue;
      const doh = d.overhead; // active*256 + inactive (spec §1, not the stale <<5 comment)
      // Strict '<': ties keep the earlier destination in list order.
      if (least === undefined || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/** Least Connection: minimal active*256 + inactive, weight magnitude ignored (spec §1 lc). */
export const lcScheduler: SchedulerFactory = {
  name: 'lc',
  create: () => new LeastConnection(),
};
