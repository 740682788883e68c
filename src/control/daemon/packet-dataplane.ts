// The packet data plane as the daemon runs it (AF_PACKET, Linux, root; docs/adr/0003-packet-plane.md).
// The engine runs in the plane's forwarding workers (engine-module.ts), so the main thread's table
// is the control copy: every change the Director applies is replayed in the workers, in order, and
// the workers' counters are copied back into the main table (services, destinations, totals) so
// `tsvsadm -L --stats/--rate`, the estimator and the metrics read what the workers counted.
import type { ConnEntryView } from '../../cli/ipvsadm/views.js';
import { type IpAddress, parseIp } from '../../core/net/addr.js';
import { serviceKeyString } from '../../core/service/keys.js';
import type { ServiceTable } from '../../core/service/service-table.js';
import type { StatsCounters, StatsSnapshot } from '../../core/stats/counters.js';
import { type PacketEngineOptions, TIMEOUT_SYSCTLS } from '../../dataplane/packet/engine-module.js';
import { PacketPlane, type PlaneSnapshot } from '../../dataplane/packet/plane.js';
import type { FastPathMode } from '../../dataplane/packet/xdp/fast-path.js';
import type { OffloadMode } from '../config/schema.js';
import { packetWorkerProblems } from '../config/validate.js';
import type { ConnView, TableOp } from '../director-api.js';
import { ipvsConnSource } from '../ipvs-conn-source.js';
import type { DataPlane, DataPlaneContext } from './dataplanes.js';

/** How the fast path hooks in for each configured offload mode. */
const FAST_PATH_MODE: Record<Exclude<OffloadMode, 'none'>, FastPathMode> = { xdp: 'generic', 'xdp-native': 'native', tc: 'tc' };

/** How often the main thread copies the workers' latest counters into its table (they report every second). */
const COPY_EVERY_MS = 500;
/** The connection cache the REST API pages over is refreshed at most this often. */
const CONN_CACHE_MS = 1000;

/** The operations that rebuild `table` in a fresh engine (destinations oldest first, as the Director's scratch copy). */
export function tableOps(table: ServiceTable): TableOp[] {
  const ops: TableOp[] = [];
  for (const svc of table.services()) {
    ops.push({ op: 'add-service', service: svc.config() });
    for (let i = svc.destinations.length - 1; i >= 0; i--) ops.push({ op: 'add-dest', key: svc.key, dest: svc.destinations[i].config() });
  }
  return ops;
}

function setRaw(c: StatsCounters, s: StatsSnapshot): void {
  c.conns = s.conns; c.inPkts = s.inPkts; c.outPkts = s.outPkts; c.inBytes = s.inBytes; c.outBytes = s.outBytes;
}

/** Copies the workers' raw counters into the live table (the table keeps its own `-Z` zero points). */
export function copyCounters(table: ServiceTable, snap: PlaneSnapshot): void {
  const byKey = new Map(snap.engine.services.map((s) => [serviceKeyString(s.key), s]));
  for (const svc of table.services()) {
    const s = byKey.get(serviceKeyString(svc.key));
    if (!s) continue;
    setRaw(svc.stats, s.stats);
    for (const d of s.dests) {
      const dest = table.findDest(svc, d.addr, d.port);
      if (!dest) continue;
      setRaw(dest.stats, d.stats);
      dest.activeConns = d.activeConns;
      dest.inactConns = d.inactConns;
      dest.persistConns = d.persistConns;
    }
  }
  setRaw(table.totals, snap.engine.total);
}

/** The main thread's sysctls and timeouts, as the engine module's setSysctls reads them. */
function engineSettings(ctx: DataPlaneContext): Record<string, number> {
  const t = ctx.ipvs.getTimeouts();
  return { ...ctx.ipvs.sysctls, [TIMEOUT_SYSCTLS.tcp]: t.tcp, [TIMEOUT_SYSCTLS.tcpfin]: t.tcpfin, [TIMEOUT_SYSCTLS.udp]: t.udp };
}

function entryView(c: ConnView): ConnEntryView {
  return { protocol: c.protocol, client: c.client, virtual: c.virtual, dest: c.dest, stateName: c.state, expiresS: c.expiresS };
}

export async function startPacketDataPlane(ctx: DataPlaneContext): Promise<DataPlane> {
  if (ctx.interfaces.length === 0) {
    throw new Error('Cannot start the packet data plane without interfaces: give --iface IF[,IF...] or dataplane.interfaces in the config');
  }
  const cfg = ctx.config;
  const table = ctx.director.table;
  const plane = new PacketPlane();
  const workers = cfg.dataplane.packet.workers;
  // What the config's validation could not see: `tsvs run --dataplane packet` or `--offload` over
  // a config that says otherwise.
  const problem = packetWorkerProblems(cfg.dataplane, ctx.offload)[0];
  if (problem) throw new Error(`Cannot start the packet plane with ${workers} forwarding workers: ${problem.path.join('.')}: ${problem.message}`);
  // Validated by the config: every one parses.
  const fullnatAddrs = cfg.dataplane.fullnat.localAddresses.map(parseIp).filter((a): a is IpAddress => a !== undefined);
  const fullnatPorts = { min: cfg.dataplane.fullnat.portRange.min, max: cfg.dataplane.fullnat.portRange.max };
  const engineOptions: PacketEngineOptions = {
    fullnat: fullnatAddrs.length > 0 ? { addresses: fullnatAddrs, portMin: fullnatPorts.min, portMax: fullnatPorts.max } : undefined,
    lblcExpirationS: cfg.sysctl.lblc_expiration, lblcrExpirationS: cfg.sysctl.lblcr_expiration,
    maxConns: cfg.dataplane.maxConnections,
  };

  // Subscribe before reading the table: every later change is replayed, in order, after start.
  let chain: Promise<unknown> = Promise.resolve();
  let started = false;
  const replay = (ops: readonly TableOp[]): void => {
    chain = chain.then(async () => {
      if (!started) return;
      const r = await plane.applyOps(ops);
      if (!r.ok) ctx.log('packet-ops-rejected', { message: r.error ?? 'rejected', ops: ops.length });
    }).catch((e: unknown) => ctx.log('packet-ops-failed', { message: e instanceof Error ? e.message : String(e) }));
  };
  const unsubscribe = ctx.director.onApplied(replay);
  let startChain: () => void = () => {};
  chain = new Promise<void>((r) => { startChain = r; });
  try {
    await plane.start({
      interfaces: ctx.interfaces,
      engineModule: new URL('../../dataplane/packet/engine-module.js', import.meta.url),
      engineOptions,
      ops: tableOps(table),
      sysctls: engineSettings(ctx),
      fullnatAddresses: fullnatAddrs,
      fullnatPorts: fullnatAddrs.length > 0 ? fullnatPorts : undefined,
      offload: ctx.offload === 'none' ? undefined : { mode: FAST_PATH_MODE[ctx.offload], maxFlows: cfg.dataplane.packet.offloadFlows },
      workers,
      onWorkerError: (index, message) => ctx.log('packet-worker-failed', { index, message }),
      onRestart: ({ ok, message }) => ctx.log(ok ? 'packet-workers-restarted' : 'packet-workers-not-restarted', { message }),
    });
  } catch (e) {
    unsubscribe();
    throw e;
  }
  started = true;
  startChain();

  const copy = (snap: PlaneSnapshot) => {
    copyCounters(table, snap);
    latest = snap;
  };
  let latest: PlaneSnapshot | undefined;
  const timer = setInterval(() => copy(plane.snapshot()), COPY_EVERY_MS);
  timer.unref();

  // Metrics and the REST API read the Director's connection source: counters from the workers'
  // snapshots, connections from a cache the workers refill (at most once a second), timeouts from
  // the main thread's copy (the same set-timeouts ops reach the workers).
  const local = ipvsConnSource(ctx.ipvs, table);
  let cache: { at: number; total: number; entries: ConnView[] } = { at: -Infinity, total: 0, entries: [] };
  let filling = false;
  const refill = () => {
    if (filling || performance.now() - cache.at < CONN_CACHE_MS) return;
    filling = true;
    plane.connections(0, 10_000).then((p) => { cache = { at: performance.now(), total: p.total, entries: [...p.entries] }; })
      .catch(() => undefined).finally(() => { filling = false; });
  };
  ctx.director.setConnSource({
    ...local,
    connections(offset, limit) {
      refill();
      return { total: cache.total, entries: cache.entries.slice(offset, offset + limit) };
    },
    counters() {
      const e = latest?.engine;
      const io = latest?.io;
      const offload = ctx.offload !== 'none' && io ? {
        flows: io.offloadActive, packets: io.offloadPackets, installed: io.offloadInstalled, installedToPeer: io.offloadInstalledToPeer,
      } : undefined;
      const packetWorkers = latest?.workers.map((w) => ({
        index: w.index, up: plane.workerAlive(w.index), rxFrames: w.io.rxFrames, txFrames: w.io.txFrames, ringDrops: w.io.ringDrops,
      }));
      const packetHeldFrames = io && { held: io.neighHeld, released: io.neighReleased, dropped: io.neighHeldDropped };
      return { drops: { ...(e?.drops ?? {}) }, conns: e?.conns ?? 0, connsMax: cfg.dataplane.maxConnections, offload, packetWorkers, packetHeldFrames };
    },
  });

  return {
    kind: 'packet',
    // The workers follow through the ops replay; nothing else to reconcile.
    reconcile: async () => {},
    connEntries: async () => (await plane.connections(0, cfg.dataplane.maxConnections)).entries.map(entryView), // the whole table
    refreshCounters: async () => copy(await plane.requestSnapshot()),
    settingsChanged: () => plane.setSysctls(engineSettings(ctx)),
    stop: async () => {
      unsubscribe();
      clearInterval(timer);
      await Promise.race([chain, new Promise((r) => setTimeout(r, 5000).unref())]);
      copy(await plane.stop());
    },
  };
}
