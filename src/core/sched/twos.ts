// twos — Power of Two Choices (ip_vs_twos.c, spec §1 twos).
import { type RandomSource, randomBelow } from '../random.js';
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import type { Scheduler, SchedulerFactory } from './scheduler.js';

class PowerOfTwoChoices implements Scheduler {
  readonly name = 'twos';
  constructor(private readonly rng: RandomSource) {}

  schedule(svc: VirtualService): Destination | undefined {
    const dests = svc.destinations;
    let total = 0;
    for (const d of dests) if (!d.isSkipped && d.weight > 0) total += d.weight;
    if (total === 0) return undefined;
    // Both draws are inclusive of `total` (get_random_u32_below(total + 1)): r = 0 and r = w1 both
    // select the first eligible destination, giving it a slightly larger share.
    let r1 = randomBelow(this.rng, total + 1);
    let r2 = randomBelow(this.rng, total + 1);
    let c1: Destination | undefined;
    let c2: Destination | undefined;
    for (const d of dests) {
      if (d.isSkipped || d.weight <= 0) continue;
      r1 -= d.weight;
      r2 -= d.weight;
      if (c1 === undefined && r1 <= 0) c1 = d;
      if (c2 === undefined && r2 <= 0) c2 = d;
      if (c1 !== undefined && c2 !== undefined) break;
    }
    // r <= total, so both walks end on some eligible destination.
    if (c1 === undefined || c2 === undefined) return c1 ?? c2;
    // The second choice wins only when strictly less loaded per unit of weight.
    return c2.weight * c1.overhead > c1.weight * c2.overhead ? c2 : c1;
  }
}

/** Power of Two Choices: two weighted random picks, the less loaded wins (spec §1 twos). */
export const twosScheduler: SchedulerFactory = {
  name: 'twos',
  create: (_svc, env) => new PowerOfTwoChoices(env.random),
};
