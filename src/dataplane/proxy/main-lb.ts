#!/usr/bin/env node
// Entry point of the standalone proxy LB (see standalone.ts):
//   node main-lb.js [--sched rr] [--workers N] LISTEN=BACKEND[,BACKEND...] ...
// Prints "tsvs-proxy: ..." lines on stderr; SIGTERM/SIGINT stop it.
import { SeededRandom } from '../../core/random.js';
import { chooseGcMode } from '../gc-mode.js';
import { PROCESS_CLOCK } from '../turn-clock.js';
import { MH_DEFAULT_TABLE_SIZE, SchedulerRegistry } from '../../core/sched/scheduler.js';
import { ServiceTable } from '../../core/service/service-table.js';
import { Ipvs } from '../../core/conn/ipvs.js';
import { IpvsEngine } from './ipvs-engine.js';
import { registerSchedulers } from './registry.js';
import { TableEngine } from './table-engine.js';
import { type ListenSpec, addListenSpecs, parseListenSpec } from './standalone.js';
import type { SocketIo } from './plane.js';
import { startProxyPool } from './workers.js';

function main(argv: string[]): void {
  let sched = 'rr';
  let workers = 1;
  let engineKind = 'ipvs';
  // Connection-table slots allocated up front: closed conns linger in TIME_WAIT (120 s) as in
  // the kernel, so a busy LB holds rate x 120 entries; growing the table later copies it.
  let conns = 1 << 17;
  let tcpIo: SocketIo = 'auto';
  const specs: ListenSpec[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--sched') sched = argv[++i];
    else if (a === '--workers') workers = Number(argv[++i]);
    else if (a === '--engine') engineKind = argv[++i];
    else if (a === '--conns') conns = Number(argv[++i]);
    else if (a === '--tcp-io') tcpIo = argv[++i] as SocketIo;
    else specs.push(parseListenSpec(a));
  }
  if (specs.length === 0 || !(workers >= 1)) {
    process.stderr.write('usage: main-lb.js [--sched rr] [--workers N] [--engine ipvs|table] [--conns N] [--tcp-io auto|native|node] LISTEN=BACKEND[,BACKEND...] ...\n');
    process.exit(2);
  }
  chooseGcMode();
  const registry = new SchedulerRegistry();
  registerSchedulers(registry);
  const table = new ServiceTable({
    registry,
    env: {
      clock: PROCESS_CLOCK, random: new SeededRandom(Date.now() >>> 0),
      mhTableSize: MH_DEFAULT_TABLE_SIZE, lblcExpirationS: 86400, lblcrExpirationS: 86400,
    },
  });
  addListenSpecs(table, specs, sched);
  const ipvs = new Ipvs(table, { clock: table.clock, random: new SeededRandom((Date.now() ^ 0x5bd1e995) >>> 0), initialCapacity: conns });
  // --engine table: schedulers and counters without the connection table (A/B measurements).
  const engine = engineKind === 'table' ? new TableEngine(table) : new IpvsEngine(ipvs, table);
  startProxyPool({ table, engine, workers, tcpIo, log: (m) => process.stderr.write(`tsvs-proxy: ${m}\n`) }).then((pool) => {
    // The plane keeps serving what it could bind (a daemon must); a benchmark LB must not run half up.
    const down = pool.plane.status().filter((s) => s.state !== 'listening');
    if (down.length > 0) {
      process.stderr.write(`tsvs-proxy: not listening: ${down.map((s) => `${s.service} (${s.error ?? s.state})`).join('; ')}\n`);
      void pool.stop(0).then(() => process.exit(1));
      return;
    }
    process.stderr.write(`tsvs-proxy: ${specs.map((s) => `${s.listen} -> ${s.backends.join(',')}`).join('; ')} (${workers} worker(s), ${sched}, TCP over ${pool.plane.tcpIo} sockets)\n`);
    const stop = () => { void pool.stop(0).then(() => process.exit(0)); };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }, (e: unknown) => {
    process.stderr.write(`tsvs-proxy: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

main(process.argv.slice(2));
