// The data planes the daemon can run, behind one small interface.
import type { OffloadMode, RunDataplane } from '../config/schema.js';
import type { Ipvs } from '../../core/conn/ipvs.js';
import type { Destination } from '../../core/service/destination.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import { IpvsEngine } from '../../dataplane/proxy/ipvs-engine.js';
import { startProxyPool } from '../../dataplane/proxy/workers.js';
import { parseCidr } from '../../dataplane/proxy/cidr.js';
import type { ConnEntryView } from '../../cli/ipvsadm/views.js';
import type { Config } from '../config/schema.js';
import type { Director } from '../director.js';
import type { IpAddress } from '../../core/net/addr.js';
import { serviceKeyString } from '../../core/service/keys.js';
import { ipvsConnSource } from '../ipvs-conn-source.js';

export interface DataPlane {
  readonly kind: RunDataplane;
  /** Follow the service table after a change. */
  reconcile(): Promise<void>;
  /** Connection entries when the engine runs outside this thread (packet plane workers). */
  readonly connEntries?: () => ConnEntryView[] | Promise<ConnEntryView[]>;
  /** Copies fresh counters into the table now (engine elsewhere; before a listing). */
  readonly refreshCounters?: () => Promise<void>;
  /** The main thread's Ipvs got new sysctls or timeouts (config reload): an engine that runs elsewhere follows. */
  readonly settingsChanged?: () => void;
  stop(graceMs: number): Promise<void>;
}

export interface DataPlaneContext {
  readonly director: Director;
  readonly ipvs: Ipvs;
  /** The current config (a getter: it changes on reload). */
  readonly config: Config;
  readonly interfaces: readonly string[];
  /** The packet plane's fast path. */
  readonly offload: OffloadMode;
  readonly log: (event: string, data: Record<string, unknown>) => void;
  /** PROXY protocol version toward a real server of a service (by service key string). */
  readonly proxyProtocolOf: (svcKey: string, addr: IpAddress, port: number) => 0 | 1 | 2;
}

export async function startDataPlane(kind: RunDataplane, ctx: DataPlaneContext): Promise<DataPlane> {
  if (kind === 'none') return { kind, reconcile: async () => {}, stop: async () => {} };
  if (kind === 'packet') {
    const { startPacketDataPlane } = await import('./packet-dataplane.js');
    return startPacketDataPlane(ctx);
  }
  return startProxyDataPlane(ctx);
}

/** dataplane.proxy settings a reload applies: settings() below reads these on every reconcile, the others only at start. */
export const PROXY_RELOADED = ['connectTimeout', 'retries', 'proxyProtocolTrusted'] as const satisfies readonly (keyof Config['dataplane']['proxy'])[];

async function startProxyDataPlane(ctx: DataPlaneContext): Promise<DataPlane> {
  // Settings are read from the current config on every reconcile, so a reload changes them.
  let trustedFor: Config | undefined;
  let trusted: ReturnType<typeof parseCidr>[] = [];
  const settings = () => {
    const cfg = ctx.config;
    if (trustedFor !== cfg) { trusted = cfg.dataplane.proxy.proxyProtocolTrusted.map(parseCidr); trustedFor = cfg; }
    return { connectTimeoutMs: cfg.dataplane.proxy.connectTimeout * 1000, retries: cfg.dataplane.proxy.retries, acceptProxyFrom: trusted };
  };
  // Workers: 0 or 1 = the daemon process alone; N >= 2 = N worker processes that pipe sockets the
  // daemon accepted and scheduled (more bulk throughput, more CPU per new connection: ADR 0002).
  const workers = ctx.config.dataplane.proxy.workers;
  const pool = await startProxyPool({
    workers: workers >= 2 ? workers : 1,
    table: ctx.director.table,
    engine: new IpvsEngine(ctx.ipvs, ctx.director.table),
    serviceSettings: settings,
    tcpIo: ctx.config.dataplane.proxy.tcpIo,
    udpIo: ctx.config.dataplane.proxy.udpIo,
    maxUdpSockets: ctx.config.dataplane.proxy.maxUdpSockets,
    proxyProtocolFor: (svc: VirtualService, d: Destination) => ctx.proxyProtocolOf(serviceKeyString(svc.key), d.addr, d.port),
    log: (m) => ctx.log('proxy', { message: m }),
  });
  const plane = pool.plane;
  ctx.log('proxy', { message: `TCP over ${plane.tcpIo} sockets, UDP over ${plane.udpIoKind} sockets` });
  // The table's counters plus the plane's own (with worker processes, theirs added: workers
  // connect, retry and pipe).
  const local = ipvsConnSource(ctx.ipvs, ctx.director.table);
  ctx.director.setConnSource({
    ...local,
    counters: () => ({ ...local.counters(), proxy: pool.counters() }),
  });
  for (const s of plane.status()) if (s.state === 'failed' || s.state === 'unsupported') ctx.log('proxy-listener', { ...s });
  return {
    kind: 'proxy',
    reconcile: async () => {
      const st = await pool.reconcile();
      for (const s of st) if (s.state === 'failed' || s.state === 'unsupported') ctx.log('proxy-listener', { ...s });
    },
    stop: (graceMs) => pool.stop(graceMs),
  };
}
