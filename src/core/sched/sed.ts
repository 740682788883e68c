// sed — Shortest Expected Delay (ip_vs_sed.c, spec §1 sed).
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import type { Scheduler, SchedulerFactory } from './scheduler.js';

/** SED picks by the expected delay (active + 1) / weight, same comparison and eligibility as wlc. */
export function sedPick(dests: readonly Destination[]): Destination | undefined {
  const n = dests.length;
  let i = 0;
  let least: Destination | undefined;
  for (; i < n; i++) {
    const d = dests[i];
    if (!d.isSkipped && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === undefined) return undefined;
  let loh = least.activeConns + 1; // inactive connections are ignored
  for (i++; i < n; i++) {
    const d = dests[i];
    if (d.isSkipped) continue;
    const doh = d.activeConns + 1;
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

class ShortestExpectedDelay implements Scheduler {
  readonly name = 'sed';
  schedule(svc: VirtualService): Destination | undefined {
    return sedPick(svc.destinations);
  }
}

/** Shortest Expected Delay: minimal (active + 1) / weight (spec §1 sed). */
export const sedScheduler: SchedulerFactory = {
  name: 'sed',
  create: () => new ShortestExpectedDelay(),
};
