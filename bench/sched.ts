// Scheduler benchmark: decisions per second for each built-in scheduler at 10, 100 and 1000
// destinations, and the mh table build time. Run through `npm run bench` or standalone:
// `node dist/bench/sched.js`. Not part of the test suite (tests never time things).
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ipv4FromU32 } from '../src/core/net/addr.js';
import { SeededRandom } from '../src/core/random.js';
import { BUILTIN_SCHEDULERS } from '../src/core/sched/builtin.js';
import { MaglevHashing } from '../src/core/sched/mh.js';
import { type FlowInfo, MH_DEFAULT_TABLE_SIZE } from '../src/core/sched/scheduler.js';
import { makeTable } from '../src/core/sched/testing.js';
import { DEST_DEFAULTS, type ServiceKey } from '../src/core/service/types.js';
import type { VirtualService } from '../src/core/service/virtual-service.js';

const SIZES = [10, 100, 1000] as const;
/** Time spent measuring one cell. */
const CELL_MS = 200;
const BATCH = 512;
const FLOWS = 4096;
const KEY: ServiceKey = { kind: 'addr', protocol: 'tcp', addr: ipv4FromU32(0xc6120001), port: 80 };

/** A service with `n` destinations of random weight 1..10 and preset connection counts. */
function makeService(scheduler: string, n: number, rng: SeededRandom, mhTableSize = MH_DEFAULT_TABLE_SIZE): VirtualService {
  const { table } = makeTable(BUILTIN_SCHEDULERS, { random: new SeededRandom(7), mhTableSize });
  // Destinations are added under "none" and the scheduler bound last, so table-building
  // schedulers build once instead of once per destination.
  const svc = table.addService({ key: KEY, scheduler: 'none', flags: 0, timeoutS: 0, netmask: 0xffffffff });
  for (let i = 0; i < n; i++) {
    const d = table.addDest(KEY, { ...DEST_DEFAULTS, addr: ipv4FromU32(0x0a000000 + i + 1), port: 80, weight: 1 + (rng.nextU32() % 10) });
    d.activeConns = rng.nextU32() % 50;
    d.inactConns = rng.nextU32() % 200;
  }
  if (scheduler !== 'none') table.editService({ key: KEY, scheduler, flags: 0, timeoutS: 0, netmask: 0xffffffff });
  return svc;
}

/** Random client flows to a bounded set of destination addresses (lblc/lblcr key on them). */
function makeFlows(rng: SeededRandom): FlowInfo[] {
  return Array.from({ length: FLOWS }, () => ({
    protocol: 'tcp' as const,
    srcAddr: ipv4FromU32(rng.nextU32()),
    srcPort: 1024 + (rng.nextU32() % 64000),
    dstAddr: ipv4FromU32(0xc6120000 + (rng.nextU32() % 1024)),
    dstPort: 80,
  }));
}

/** Decisions per second for one scheduler and size, measured for about CELL_MS. */
function measure(svc: VirtualService, flows: readonly FlowInfo[]): number {
  const sched = svc.sched!;
  let sink = 0;
  // Warm-up so the JIT has seen the loop.
  for (let i = 0; i < 2 * BATCH; i++) if (sched.schedule(svc, flows[i % FLOWS])) sink++;
  let done = 0;
  let f = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < CELL_MS) {
    for (let i = 0; i < BATCH; i++) {
      if (sched.schedule(svc, flows[f])) sink++;
      f = f + 1 === FLOWS ? 0 : f + 1;
    }
    done += BATCH;
    elapsed = performance.now() - start;
  }
  if (sink < 0) throw new Error('unreachable');
  return (done / elapsed) * 1000;
}

/** Mean mh table build time in ms for n destinations and table size m. */
function mhBuildMs(n: number, m: number): number {
  const svc = makeService('none', n, new SeededRandom(3));
  const mh = new MaglevHashing(svc, m);
  let reps = 0;
  const start = performance.now();
  while (reps < 3 || performance.now() - start < CELL_MS) {
    mh.rebuild(svc);
    reps++;
  }
  return (performance.now() - start) / reps;
}

function fmtRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)} M/s`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)} k/s`;
  return `${r.toFixed(0)} /s`;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs the scheduler benchmark and returns it as a markdown section. */
export async function runSchedBench(): Promise<string> {
  const rng = new SeededRandom(42);
  const flows = makeFlows(rng);
  const lines = [
    '## Schedulers',
    '',
    `Decisions per second (schedule() calls on one service; ~${CELL_MS} ms per cell; ${FLOWS} random flows`,
    'to 1024 destination addresses; destination weights 1..10, active 0..49, inactive 0..199; mh M = 4093).',
    `Node ${process.version}.`,
    '',
    `| scheduler | ${SIZES.map((n) => `${n} dests`).join(' | ')} |`,
    `|---|${SIZES.map(() => '---:').join('|')}|`,
  ];
  for (const f of BUILTIN_SCHEDULERS) {
    const cells: string[] = [];
    for (const n of SIZES) {
      const svc = makeService(f.name, n, new SeededRandom(n));
      cells.push(fmtRate(measure(svc, flows)));
      await tick();
    }
    lines.push(`| ${f.name} | ${cells.join(' | ')} |`);
  }
  lines.push('', 'mh table build (permutation + population) with 1000 destinations:', '', '| M | build time |', '|---:|---:|');
  for (const m of [4093, 65537]) {
    lines.push(`| ${m} | ${mhBuildMs(1000, m).toFixed(2)} ms |`);
    await tick();
  }
  return lines.join('\n') + '\n';
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await runSchedBench());
}
