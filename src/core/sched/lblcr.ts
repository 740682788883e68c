// lblcr — Locality-Based Least-Connection with Replication (ip_vs_lblcr.c, spec §1 lblcr): each
// destination address maps to a set of destinations. Table and GC are lblc's (see lblc.ts).
import type { Clock } from '../clock.js';
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import { type LocalityEntry, LocalityTable, copyAddr, localOverloaded } from './lblc.js';
import type { FlowInfo, Scheduler, SchedulerFactory } from './scheduler.js';
import { wlcPick } from './wlc.js';

/** An lblcr cache entry: destination address -> destination set (newest member first). */
export interface LblcrEntry extends LocalityEntry {
  readonly set: Destination[];
  /** When the set last gained or lost a member (ms). */
  lastmod: number;
}

/** ip_vs_dest_set_min: weighted least-connection over the set, members must be AVAILABLE. */
function setMin(set: readonly Destination[]): Destination | undefined {
  const n = set.length;
  let i = 0;
  let least: Destination | undefined;
  for (; i < n; i++) {
    const d = set[i];
    if (d.isSkipped) continue;
    if (d.weight > 0 && d.isAvailable) {
      least = d;
      break;
    }
  }
  if (least === undefined) return undefined;
  let loh = least.overhead;
  for (i++; i < n; i++) {
    const d = set[i];
    if (d.isSkipped) continue;
    const doh = d.overhead;
    if (loh * d.weight > doh * least.weight && d.isAvailable) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_dest_set_max: weighted most-connection over the set (weight > 0 only; OVERLOAD ignored). */
function setMax(set: readonly Destination[]): Destination | undefined {
  const n = set.length;
  let i = 0;
  let most: Destination | undefined;
  for (; i < n; i++) {
    if (set[i].weight > 0) {
      most = set[i];
      break;
    }
  }
  if (most === undefined) return undefined;
  let moh = most.overhead;
  for (i++; i < n; i++) {
    const d = set[i];
    const doh = d.overhead;
    if (moh * d.weight < doh * most.weight && d.weight > 0) {
      most = d;
      moh = doh;
    }
  }
  return most;
}

/** The lblcr state: the cache table of destination sets (exposed for inspection and tests). */
export class LocalityBasedLeastConnectionReplicated implements Scheduler {
  readonly name = 'lblcr';
  readonly table: LocalityTable<LblcrEntry>;

  constructor(svc: VirtualService, private readonly clock: Clock, private readonly expirationS: () => number) {
    this.table = new LocalityTable<LblcrEntry>(svc.family, clock, () => expirationS() * 1000);
  }

  schedule(svc: VirtualService, flow: FlowInfo): Destination | undefined {
    this.table.runDue();
    const now = this.clock.nowMs();
    const en = this.table.get(flow.dstAddr);
    if (en !== undefined) {
      en.lastuse = now;
      const least = setMin(en.set);
      // A set with more than one member that has not changed for lblcr_expiration sheds its
      // most loaded member (chosen before, so `least` may be the one removed and still used).
      if (en.set.length > 1 && now > en.lastmod + this.expirationS() * 1000) {
        const m = setMax(en.set);
        if (m !== undefined) {
          en.set.splice(en.set.indexOf(m), 1);
          en.lastmod = now;
        }
      }
      if (least !== undefined && !localOverloaded(least, svc)) return least;
      // The set has nothing usable: pick over the whole service and replicate into the set.
      const dest = wlcPick(svc.destinations);
      if (dest === undefined) return undefined;
      if (!en.set.includes(dest)) {
        en.set.unshift(dest);
        en.lastmod = now;
      }
      return dest;
    }
    const dest = wlcPick(svc.destinations);
    if (dest === undefined) return undefined;
    this.table.insert({ addr: copyAddr(flow.dstAddr), set: [dest], lastuse: now, lastmod: now });
    return dest;
  }

  dispose(): void {
    this.table.clear();
  }
}

/** LBLC with Replication: a destination set per packet destination address (spec §1 lblcr). */
export const lblcrScheduler: SchedulerFactory = {
  name: 'lblcr',
  create: (svc, env) => new LocalityBasedLeastConnectionReplicated(svc, env.clock, () => env.lblcrExpirationS),
};
