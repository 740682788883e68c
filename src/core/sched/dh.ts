// dh — Destination Hashing (ip_vs_dh.c, spec §1 dh).
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import { foldForFamily, hash32 } from './hash.js';
import type { DestChange, FlowInfo, Scheduler, SchedulerFactory } from './scheduler.js';

/** CONFIG_IP_VS_DH_TAB_BITS default: 256 buckets. */
export const DH_TAB_BITS = 8;
/** Number of dh buckets. */
export const DH_TAB_SIZE = 1 << DH_TAB_BITS;

/** The dh state: 256 buckets filled with one bucket per destination in turn. */
export class DestinationHashing implements Scheduler {
  readonly name = 'dh';
  readonly buckets: (Destination | undefined)[] = new Array<Destination | undefined>(DH_TAB_SIZE).fill(undefined);

  constructor(svc: VirtualService) {
    this.reassign(svc);
  }

  /** ip_vs_dh_reassign: cyclically one bucket per destination; weights are not used (spec §1 dh). */
  reassign(svc: VirtualService): void {
    const dests = svc.destinations;
    const n = dests.length;
    for (let i = 0; i < DH_TAB_SIZE; i++) this.buckets[i] = n === 0 ? undefined : dests[i % n];
  }

  onDestChange(svc: VirtualService, change: DestChange): void {
    // The kernel's dh has add_dest and del_dest but no upd_dest (spec §1 dh).
    if (change.kind !== 'upd') this.reassign(svc);
  }

  schedule(svc: VirtualService, flow: FlowInfo): Destination | undefined {
    const d = this.buckets[hash32(foldForFamily(svc.family, flow.dstAddr.bytes), DH_TAB_BITS)];
    // No fallback: an empty, unavailable, quiescent or overloaded bucket means no destination.
    if (d === undefined || !d.isAvailable || d.weight <= 0 || d.isSkipped) return undefined;
    return d;
  }
}

/** Destination Hashing over 256 buckets keyed by the packet's destination address (spec §1 dh). */
export const dhScheduler: SchedulerFactory = {
  name: 'dh',
  create: (svc) => new DestinationHashing(svc),
};
