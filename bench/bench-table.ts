// The service table every in-process engine benchmark starts from: all built-in schedulers, a
// manual clock (benchmarks advance time themselves) and a fixed seed, so runs compare like with like.
import type { ManualClock } from '../src/core/clock.js';
import type { RandomSource } from '../src/core/random.js';
import { BUILTIN_SCHEDULERS } from '../src/core/sched/builtin.js';
import { makeTable } from '../src/core/sched/testing.js';
import type { ServiceTable } from '../src/core/service/service-table.js';

export function benchTable(): { clock: ManualClock; random: RandomSource; table: ServiceTable } {
  const { table, clock, env } = makeTable(BUILTIN_SCHEDULERS, { mhTableSize: 4093 });
  return { clock, random: env.random, table };
}
