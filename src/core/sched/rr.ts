// rr — Round Robin (ip_vs_rr.c, spec §1 rr).
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import type { DestChange, Scheduler, SchedulerFactory } from './scheduler.js';

class RoundRobin implements Scheduler {
  readonly name = 'rr';
  /** Index of the last chosen destination; -1 is the list head (spec §1 rr: "initially the list head"). */
  private cursor = -1;

  schedule(svc: VirtualService): Destination | undefined {
    const dests = svc.destinations;
    const n = dests.length;
    if (this.cursor >= n) this.cursor = -1; // defensive: the list shrank without a del notice
    // One full lap starting after the cursor, ending with the cursor's own destination.
    for (let step = 0, i = this.cursor; step < n; step++) {
      i = i + 1 === n ? 0 : i + 1;
      const d = dests[i];
      if (d.weight > 0 && !d.isSkipped) {
        this.cursor = i;
        return d;
      }
    }
    return undefined;
  }

  onDestChange(_svc: VirtualService, change: DestChange): void {
    // The kernel keeps a pointer into the list; an index must follow insertions and removals.
    if (change.kind === 'add') {
      if (this.cursor >= change.index) this.cursor++;
    } else if (change.kind === 'del') {
      // spec §1 rr: a deleted cursor destination moves the cursor back to its predecessor
      // (the list head when it was the first).
      if (this.cursor === change.index) this.cursor = change.index - 1;
      else if (this.cursor > change.index) this.cursor--;
    }
  }
}

/** Round Robin: the next destination with weight > 0 that is not overloaded (spec §1 rr). */
export const rrScheduler: SchedulerFactory = {
  name: 'rr',
  create: () => new RoundRobin(),
};
