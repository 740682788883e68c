// The 14 schedulers of the kernel (spec §1), in the order ipvsadm's man page lists them.
import { dhScheduler } from './dh.js';
import { foScheduler } from './fo.js';
import { lblcScheduler } from './lblc.js';
import { lblcrScheduler } from './lblcr.js';
import { lcScheduler } from './lc.js';
import { mhScheduler } from './mh.js';
import { nqScheduler } from './nq.js';
import { ovfScheduler } from './ovf.js';
import { rrScheduler } from './rr.js';
import type { SchedulerFactory, SchedulerRegistry } from './scheduler.js';
import { sedScheduler } from './sed.js';
import { shScheduler } from './sh.js';
import { twosScheduler } from './twos.js';
import { wlcScheduler } from './wlc.js';
import { wrrScheduler } from './wrr.js';

/** Every built-in scheduler factory. */
export const BUILTIN_SCHEDULERS: readonly SchedulerFactory[] = [
  rrScheduler, wrrScheduler, lcScheduler, wlcScheduler, lblcScheduler, lblcrScheduler, dhScheduler,
  shScheduler, sedScheduler, nqScheduler, foScheduler, ovfScheduler, mhScheduler, twosScheduler,
];

/** Registers every built-in scheduler in `registry`. */
export function registerBuiltinSchedulers(registry: SchedulerRegistry): void {
  for (const f of BUILTIN_SCHEDULERS) registry.register(f);
}
