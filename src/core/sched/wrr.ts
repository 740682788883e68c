// wrr — Weighted Round Robin (ip_vs_wrr.c, spec §1 wrr).
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import type { Scheduler, SchedulerFactory } from './scheduler.js';

/** Greatest common divisor of two positive integers. */
export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** gcd of the weights > 0, or 1 when there are none (ip_vs_wrr_gcd_weight). */
function gcdWeight(dests: readonly Destination[]): number {
  let g = 0;
  for (const d of dests) if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
  return g || 1;
}

function maxWeight(dests: readonly Destination[]): number {
  let w = 0;
  for (const d of dests) if (d.weight > w) w = d.weight;
  return w;
}

/** The wrr state ("mark"): cursor, current weight, max weight and gcd (spec §1 wrr). */
export class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr';
  /** Index of the last chosen destination; -1 is the list head. */
  cl = -1;
  cw: number;
  mw: number;
  di: number;

  constructor(svc: VirtualService) {
    // init_svc: cw starts at mw.
    this.di = gcdWeight(svc.destinations);
    this.mw = maxWeight(svc.destinations) - (this.di - 1);
    this.cw = this.mw;
  }

  /** add/del/upd (ip_vs_wrr_dest_changed): cursor to head, recompute di/mw, adjust cw (spec §1 wrr). */
  onDestChange(svc: VirtualService): void {
    this.cl = -1;
    this.di = gcdWeight(svc.destinations);
    this.mw = maxWeight(svc.destinations) - (this.di - 1);
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }

  schedule(svc: VirtualService): Destination | undefined {
    const dests = svc.destinations;
    const n = dests.length;
    if (this.mw === 0) return undefined;
    if (this.cl >= n) this.cl = -1; // defensive: the list changed without a notice
    const last = this.cl;
    let stop = -2; // no stop until the last pass needs one
    let lastPass = false;
    let restarted = false;
    let i = this.cl;
    // Bounded: every wrap lowers cw, and a full sweep at the lowest cw ends the loop.
    for (;;) {
      for (i = i + 1; i < n; i++) {
        const d = dests[i];
        if (!d.isSkipped && d.weight >= this.cw) {
          this.cl = i;
          return d;
        }
        if (i === stop) {
          this.cl = i;
          return undefined; // "all destinations are overloaded"
        }
      }
      // Wrapped past the list head.
      i = -1;
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        // A last pass (cw <= di) already ran over every destination, or we started at the head.
        if (lastPass || last === -1) {
          this.cl = -1;
          return undefined;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      // The first sweep at weight >= 1 only covered the destinations after `last`: finish there.
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }
}

/** Weighted Round Robin with the kernel's interleaving (spec §1 wrr). */
export const wrrScheduler: SchedulerFactory = {
  name: 'wrr',
  create: (svc) => new WeightedRoundRobin(svc),
};
