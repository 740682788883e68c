// sh — Source Hashing (ip_vs_sh.c, spec §1 sh).
import type { Destination } from '../service/destination.js';
import { SVC_F_SH_FALLBACK, SVC_F_SH_PORT } from '../service/types.js';
import type { VirtualService } from '../service/virtual-service.js';
import { foldForFamily, hash32 } from './hash.js';
import type { FlowInfo, Scheduler, SchedulerFactory } from './scheduler.js';

/** CONFIG_IP_VS_SH_TAB_BITS default: 256 buckets. */
export const SH_TAB_BITS = 8;
/** Number of sh buckets. */
export const SH_TAB_SIZE = 1 << SH_TAB_BITS;
const SH_TAB_MASK = SH_TAB_SIZE - 1;

/** sh and mh treat weight <= 0 and OVERLOAD as unavailable (is_unavailable). */
function unavailable(d: Destination): boolean {
  return d.weight <= 0 || d.isSkipped;
}

/** The sh state: 256 buckets, each pointing at a destination (or empty when there are none). */
export class SourceHashing implements Scheduler {
  readonly name = 'sh';
  readonly buckets: (Destination | undefined)[] = new Array<Destination | undefined>(SH_TAB_SIZE).fill(undefined);

  constructor(svc: VirtualService) {
    this.reassign(svc);
  }

  /**
   * ip_vs_sh_reassign: walk the list cyclically, each destination filling `weight` consecutive
   * buckets; weight 0 or 1 still fills one because the test is ++count >= weight (spec §1 sh).
   */
  reassign(svc: VirtualService): void {
    const dests = svc.destinations;
    const n = dests.length;
    let k = 0;
    let count = 0;
    for (let i = 0; i < SH_TAB_SIZE; i++) {
      if (n === 0) {
        this.buckets[i] = undefined;
        continue;
      }
      const d = dests[k];
      this.buckets[i] = d;
      if (++count >= d.weight) {
        k = k + 1 === n ? 0 : k + 1;
        count = 0;
      }
    }
  }

  onDestChange(svc: VirtualService): void {
    this.reassign(svc); // on add, del and upd alike
  }

  schedule(svc: VirtualService, flow: FlowInfo): Destination | undefined {
    // The port counts only with sh-port; the hashed address is the packet's source.
    const port = (svc.flags & SVC_F_SH_PORT) !== 0 ? flow.srcPort : 0;
    const ihash = hash32((port + foldForFamily(svc.family, flow.srcAddr.bytes)) >>> 0, SH_TAB_BITS);
    const first = this.buckets[ihash & SH_TAB_MASK];
    if ((svc.flags & SVC_F_SH_FALLBACK) === 0) return first === undefined || unavailable(first) ? undefined : first;
    if (first === undefined) return undefined;
    if (!unavailable(first)) return first;
    // sh-fallback: rehash with offset roffset = (offset + ihash) % 256, so bucket = (roffset + ihash) & 255,
    // stopping at an empty bucket.
    for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % SH_TAB_SIZE;
      const d = this.buckets[(roffset + ihash) & SH_TAB_MASK];
      if (d === undefined) return undefined;
      if (!unavailable(d)) return d;
    }
    return undefined;
  }
}

/** Source Hashing over 256 buckets, with the sh-port and sh-fallback flags (spec §1 sh). */
export const shScheduler: SchedulerFactory = {
  name: 'sh',
  create: (svc) => new SourceHashing(svc),
};
