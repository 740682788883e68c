// nq — Never Queue (ip_vs_nq.c, spec §1 nq).
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import type { Scheduler, SchedulerFactory } from './scheduler.js';

class NeverQueue implements Scheduler {
  readonly name = 'nq';

  schedule(svc: VirtualService): Destination | undefined {
    let least: Destination | undefined;
    let loh = 0;
    for (const d of svc.destinations) {
      if (d.isSkipped || d.weight <= 0) continue;
      // The first idle destination wins at once.
      if (d.activeConns === 0) return d;
      const doh = d.activeConns + 1;
      if (least === undefined || loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/** Never Queue: the first idle destination, otherwise like sed (spec §1 nq). */
export const nqScheduler: SchedulerFactory = {
  name: 'nq',
  create: () => new NeverQueue(),
};
