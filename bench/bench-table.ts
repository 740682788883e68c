// The service table every in-process benchmark starts from: all built-in schedulers, a manual
// clock (benchmarks advance time themselves) and a fixed seed, so runs compare like with like.
import { ManualClock } from '../src/core/clock.js';
import { SeededRandom } from '../src/core/random.js';
import { registerBuiltinSchedulers } from '../src/core/sched/builtin.js';
import { SchedulerRegistry } from '../src/core/sched/scheduler.js';
import { ServiceTable } from '../src/core/service/service-table.js';

export function benchTable(): { clock: ManualClock; random: SeededRandom; table: ServiceTable } {
  const clock = new ManualClock(0);
  const random = new SeededRandom(1);
  const registry = new SchedulerRegistry();
  registerBuiltinSchedulers(registry);
  const table = new ServiceTable({ registry, env: { clock, random, mhTableSize: 4093, lblcExpirationS: 86400, lblcrExpirationS: 86400 } });
  return { clock, random, table };
}
