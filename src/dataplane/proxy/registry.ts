// The schedulers the proxy plane's standalone entry points register (the daemon passes its own
// registry). Kept in one place so the list changes once when the core's builtin list lands.
import type { SchedulerRegistry } from '../../core/sched/scheduler.js';
import { dhScheduler } from '../../core/sched/dh.js';
import { foScheduler } from '../../core/sched/fo.js';
import { lcScheduler } from '../../core/sched/lc.js';
import { mhScheduler } from '../../core/sched/mh.js';
import { nqScheduler } from '../../core/sched/nq.js';
import { ovfScheduler } from '../../core/sched/ovf.js';
import { rrScheduler } from '../../core/sched/rr.js';
import { sedScheduler } from '../../core/sched/sed.js';
import { shScheduler } from '../../core/sched/sh.js';
import { twosScheduler } from '../../core/sched/twos.js';
import { wlcScheduler } from '../../core/sched/wlc.js';
import { wrrScheduler } from '../../core/sched/wrr.js';

/** Registers every scheduler the core provides. */
export function registerSchedulers(registry: SchedulerRegistry): void {
  for (const f of [rrScheduler, wrrScheduler, lcScheduler, wlcScheduler, sedScheduler, nqScheduler, foScheduler, ovfScheduler, twosScheduler, shScheduler, dhScheduler, mhScheduler]) {
    if (!registry.has(f.name)) registry.register(f);
  }
}
