// ovf — Overflow connection (ip_vs_ovf.c, spec §1 ovf).
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import type { Scheduler, SchedulerFactory } from './scheduler.js';

class Overflow implements Scheduler {
  readonly name = 'ovf';

  schedule(svc: VirtualService): Destination | undefined {
    let best: Destination | undefined;
    for (const d of svc.destinations) {
      const w = d.weight;
      // The weight is a capacity in active connections; inactive ones do not count.
      if (d.isSkipped || w <= 0 || d.activeConns > w) continue;
      if (best === undefined || w > best.weight) best = d;
    }
    return best;
  }
}

/** Overflow: the highest-weight destination whose active connections do not exceed its weight (spec §1 ovf). */
export const ovfScheduler: SchedulerFactory = {
  name: 'ovf',
  create: () => new Overflow(),
};
