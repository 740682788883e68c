// wlc — Weighted Least Connection (ip_vs_wlc.c, spec §1 wlc), ipvsadm's default scheduler.
// wlcPick is also the fallback of lblc and lblcr (__ip_vs_lblc_schedule is the same loop).
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import type { Scheduler, SchedulerFactory } from './scheduler.js';

/**
 * The weighted least-loaded destination: the first with weight > 0 and not OVERLOAD starts as
 * `least`; a later one replaces it when loh * w_dest > doh * w_least (spec §1 wlc). Later
 * weight-0 destinations are not skipped explicitly but can never win (loh * 0 > x is false).
 */
export function wlcPick(dests: readonly Destination[]): Destination | undefined {
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
  let loh = least.overhead;
  for (i++; i < n; i++) {
    const d = dests[i];
    if (d.isSkipped) continue;
    const doh = d.overhead;
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

class WeightedLeastConnection implements Scheduler {
  readonly name = 'wlc';
  schedule(svc: VirtualService): Destination | undefined {
    return wlcPick(svc.destinations);
  }
}

/** Weighted Least Connection: minimal (active*256 + inactive) / weight (spec §1 wlc). */
export const wlcScheduler: SchedulerFactory = {
  name: 'wlc',
  create: () => new WeightedLeastConnection(),
};
