// The schedulers the proxy plane's standalone entry points register (the daemon passes its own
// registry): every builtin scheduler of the core, skipping names already registered.
import { BUILTIN_SCHEDULERS } from '../../core/sched/builtin.js';
import type { SchedulerRegistry } from '../../core/sched/scheduler.js';

/** Registers every scheduler the core provides (idempotent). */
export function registerSchedulers(registry: SchedulerRegistry): void {
  for (const f of BUILTIN_SCHEDULERS) if (!registry.has(f.name)) registry.register(f);
}
