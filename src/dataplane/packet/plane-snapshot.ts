// The packet plane's counters as one: every forwarding worker reports its engine replica's stats and
// its I/O counters (worker-protocol.ts), and the control plane reads their sum.
import { formatIp } from '../../core/net/addr.js';
import { serviceKeyString } from '../../core/service/keys.js';
import type { StatsSnapshot } from '../../core/stats/counters.js';
import { type EngineSnapshot, type IoCounters, type WorkerSnapshot, newIoCounters } from './worker-protocol.js';

/** Counters of the whole plane: the engine replicas' merged, plus I/O. */
export interface PlaneSnapshot {
  readonly engine: EngineSnapshot;
  readonly io: IoCounters;
  readonly workers: readonly WorkerSnapshot[];
}

function addStats(a: StatsSnapshot, b: StatsSnapshot): StatsSnapshot {
  return { conns: a.conns + b.conns, inPkts: a.inPkts + b.inPkts, outPkts: a.outPkts + b.outPkts, inBytes: a.inBytes + b.inBytes, outBytes: a.outBytes + b.outBytes };
}

/** Sums worker snapshots: services by key, destinations by address and port, drops by reason. */
export function merge(snaps: readonly WorkerSnapshot[]): PlaneSnapshot {
  const zero: StatsSnapshot = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
  const services = new Map<string, { key: EngineSnapshot['services'][number]['key']; stats: StatsSnapshot; dests: Map<string, EngineSnapshot['services'][number]['dests'][number]> }>();
  const drops: Record<string, number> = {};
  let total = zero;
  let conns = 0;
  const io = newIoCounters();
  for (const s of snaps) {
    total = addStats(total, s.engine.total);
    conns += s.engine.conns;
    for (const [k, v] of Object.entries(s.engine.drops)) drops[k] = (drops[k] ?? 0) + v;
    for (const svc of s.engine.services) {
      const k = serviceKeyString(svc.key);
      let m = services.get(k);
      if (!m) services.set(k, (m = { key: svc.key, stats: zero, dests: new Map() }));
      m.stats = addStats(m.stats, svc.stats);
      for (const d of svc.dests) {
        const dk = `${formatIp(d.addr)}:${d.port}`;
        const cur = m.dests.get(dk);
        m.dests.set(dk, cur ? {
          addr: d.addr, port: d.port, stats: addStats(cur.stats, d.stats), activeConns: cur.activeConns + d.activeConns,
          inactConns: cur.inactConns + d.inactConns, persistConns: cur.persistConns + d.persistConns,
        } : d);
      }
    }
    for (const k of Object.keys(io) as Array<keyof IoCounters>) if (k !== 'lastTxErrno') io[k] += s.io[k];
    if (s.io.lastTxErrno) io.lastTxErrno = s.io.lastTxErrno;
  }
  return {
    engine: { services: [...services.values()].map((m) => ({ key: m.key, stats: m.stats, dests: [...m.dests.values()] })), total, drops, conns },
    io,
    workers: snaps,
  };
}

/**
 * What a stopped set of workers leaves to the counters of the set after it (a restart, ADR 0003):
 * their cumulative counters, summed with what earlier sets left (`prior`), as one pseudo-worker
 * snapshot (index -1). Gauges are not left: the old set's connections are gone, so its active,
 * inactive and persistent conns, table entries and offloaded flows count zero.
 */
export function carryOver(prior: WorkerSnapshot | undefined, finals: readonly WorkerSnapshot[]): WorkerSnapshot {
  const m = merge(prior ? [prior, ...finals] : finals);
  return {
    index: -1,
    atMs: 0,
    neighbours: 0,
    io: { ...m.io, offloadActive: 0 },
    engine: {
      ...m.engine,
      conns: 0,
      services: m.engine.services.map((svc) => ({ ...svc, dests: svc.dests.map((d) => ({ ...d, activeConns: 0, inactConns: 0, persistConns: 0 })) })),
    },
  };
}

/** The live workers' snapshots merged, plus what earlier sets left; `workers` lists the live ones only. */
export function mergeWithCarried(live: readonly WorkerSnapshot[], carried: WorkerSnapshot | undefined): PlaneSnapshot {
  const m = merge(carried ? [...live, carried] : live);
  return { ...m, workers: live };
}
