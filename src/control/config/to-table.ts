// A validated Config as the desired service table: core ServiceConfig/DestConfig values with the
// defaults ipvsadm and keepalived apply (spec §5.2, §7.1), plus the resolved health settings
// (virtual_server → real_server → checker cascade, spec §7.1/§7.3). Pure: no I/O.
// The table is the "everything healthy" state; the daemon removes or inhibits real servers as
// their checks fail and swaps in the sorry server when quorum is lost (spec §7.2).
import { parseIp, parseIpv4, ipv4ToU32 } from '../../core/net/addr.js';
import type { IpAddress } from '../../core/net/addr.js';
import {
  DEST_DEFAULTS, SVC_F_ONEPACKET, SVC_F_PERSISTENT, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3, defaultNetmask,
} from '../../core/service/types.js';
import type { DestConfig, ForwardMethod, ServiceConfig, ServiceKey } from '../../core/service/types.js';
import type { CheckSpec, Config, RealServerSpec, ScriptSpec, SchedFlagName, ServiceSpec, TunnelSpec } from './schema.js';

/** A health check with every inherited and default setting resolved. */
export interface ResolvedCheck {
  readonly spec: CheckSpec;
  readonly delayLoopS: number;
  /** Bound of one attempt (exec: the program's timeout). */
  readonly timeoutS: number;
  readonly retry: number;
  readonly delayBeforeRetryS: number;
  /** Maximum random delay before the first check (0 = none). */
  readonly warmupS: number;
  readonly alpha: boolean;
  /** Where network checks connect (exec: the real server's address and port, for information). */
  readonly target: { readonly addr: IpAddress; readonly port: number };
  /** http/https: the Host header per URL (undefined = ip:port). */
  readonly virtualhosts?: readonly (string | undefined)[];
  /** http/https: the accepted status ranges per URL (default 200-299). */
  readonly statusRanges?: readonly (readonly (readonly [number, number])[])[];
}

/** A real server as the daemon runs it. */
export interface DesiredRealServer {
  readonly dest: DestConfig;
  readonly inhibitOnFailure: boolean;
  readonly alpha: boolean;
  readonly proxyProtocol: 'none' | 'v1' | 'v2';
  readonly checks: readonly ResolvedCheck[];
  readonly notifyUp?: ScriptSpec;
  readonly notifyDown?: ScriptSpec;
}

/** A service of the desired table. `dests[i]` is `realServers[i].dest`. */
export interface DesiredService {
  readonly name?: string;
  readonly service: ServiceConfig;
  readonly dests: readonly DestConfig[];
  readonly realServers: readonly DesiredRealServer[];
  readonly sorryServer?: { readonly dest: DestConfig; readonly inhibit: boolean };
  readonly quorum: number;
  readonly hysteresis: number;
  readonly quorumUp?: ScriptSpec;
  readonly quorumDown?: ScriptSpec;
  readonly omega: boolean;
  readonly haSuspend: boolean;
}

const SCHED_FLAG_BITS: Record<SchedFlagName, number> = {
  'sh-fallback': SVC_F_SCHED1, 'sh-port': SVC_F_SCHED2, 'mh-fallback': SVC_F_SCHED1, 'mh-port': SVC_F_SCHED2,
  'flag-1': SVC_F_SCHED1, 'flag-2': SVC_F_SCHED2, 'flag-3': SVC_F_SCHED3,
};

/** The desired table of a validated config, in file order. */
export function toTable(cfg: Config): DesiredService[] {
  return cfg.services.map(toDesiredService);
}

function mustIp(text: string): IpAddress {
  const ip = parseIp(text);
  if (!ip) throw new Error(`to-table: ${text} is not an address (the config was not validated)`);
  return ip;
}

/** The service key: (protocol, address, port) or (fwmark, family). */
export function serviceKeyOf(s: ServiceSpec): ServiceKey {
  if (s.fwmark !== undefined) return { kind: 'fwmark', fwmark: s.fwmark, family: s.family === 'ipv6' ? 6 : 4 };
  return { kind: 'addr', protocol: s.protocol ?? 'tcp', addr: mustIp(s.address ?? ''), port: s.port ?? 0 };
}

/** What `ipvsadm -A` would set for the service (spec §5.2). */
export function serviceConfigOf(s: ServiceSpec): ServiceConfig {
  const key = serviceKeyOf(s);
  const family = key.kind === 'addr' ? key.addr.family : key.family;
  let flags = 0;
  if (s.persistence) flags |= SVC_F_PERSISTENT;
  if (s.ops) flags |= SVC_F_ONEPACKET;
  for (const f of s.schedFlags) flags |= SCHED_FLAG_BITS[f];
  let netmask = defaultNetmask(family);
  const m = s.persistence?.netmask;
  if (m !== undefined && family === 4) {
    const mask = parseIpv4(String(m));
    if (!mask) throw new Error(`to-table: ${m} is not a netmask (the config was not validated)`);
    netmask = ipv4ToU32(mask);
  } else if (m !== undefined) {
    netmask = Number(m);
  }
  return {
    key,
    scheduler: s.scheduler,
    flags,
    // ipvsadm leaves the timeout 0 for non-persistent services.
    timeoutS: s.persistence ? s.persistence.timeout : 0,
    netmask,
    ...(s.pe !== undefined ? { pe: s.pe } : {}),
  };
}

interface ServerLike {
  address: string;
  port?: number;
  forwarding?: ForwardMethod;
  tunnel?: TunnelSpec;
  weight?: number;
  upperThreshold?: number;
  lowerThreshold?: number;
}

/** What `ipvsadm -a` would set for a real server of the service (spec §5.2). */
export function destConfigOf(s: ServiceSpec, rs: ServerLike): DestConfig {
  const method = rs.forwarding ?? s.forwarding;
  const svcPort = s.fwmark !== undefined ? 0 : s.port ?? 0;
  // Port omitted → the service port; droute/tunnel always use it (unless fwmark service).
  const forced = (method === 'droute' || method === 'tunnel') && s.fwmark === undefined;
  const port = forced ? svcPort : rs.port ?? svcPort;
  const tun = method === 'tunnel' ? rs.tunnel ?? s.tunnel : undefined;
  return {
    addr: mustIp(rs.address),
    port,
    method,
    weight: rs.weight ?? DEST_DEFAULTS.weight,
    uThreshold: rs.upperThreshold ?? DEST_DEFAULTS.uThreshold,
    lThreshold: rs.lowerThreshold ?? DEST_DEFAULTS.lThreshold,
    tunType: tun?.type ?? DEST_DEFAULTS.tunType,
    tunPort: tun?.port ?? DEST_DEFAULTS.tunPort,
    tunCsum: tun?.csum ?? DEST_DEFAULTS.tunCsum,
  };
}

function toDesiredService(s: ServiceSpec): DesiredService {
  const realServers = s.realServers.map((rs): DesiredRealServer => {
    const dest = destConfigOf(s, rs);
    return {
      dest,
      inhibitOnFailure: rs.health?.inhibitOnFailure ?? s.health.inhibitOnFailure,
      alpha: rs.health?.alpha ?? s.health.alpha,
      proxyProtocol: rs.proxyProtocol,
      checks: rs.checks.map((c) => resolveCheck(s, rs, dest, c)),
      ...(rs.notifyUp ? { notifyUp: rs.notifyUp } : {}),
      ...(rs.notifyDown ? { notifyDown: rs.notifyDown } : {}),
    };
  });
  const ss = s.sorryServer;
  return {
    ...(s.name !== undefined ? { name: s.name } : {}),
    service: serviceConfigOf(s),
    dests: realServers.map((r) => r.dest),
    realServers,
    // The sorry server gets weight 1 and the service's forwarding unless told otherwise (spec §7.2).
    ...(ss ? { sorryServer: { dest: destConfigOf(s, { ...ss, weight: 1 }), inhibit: ss.inhibit } } : {}),
    quorum: s.quorum,
    hysteresis: s.hysteresis,
    ...(s.quorumUp ? { quorumUp: s.quorumUp } : {}),
    ...(s.quorumDown ? { quorumDown: s.quorumDown } : {}),
    omega: s.health.omega,
    haSuspend: s.health.haSuspend,
  };
}

/** keepalived's per-checker retry default (spec §7.1): MISC_CHECK 0, DNS_CHECK 3, others 1. */
function defaultRetry(c: CheckSpec): number {
  return c.type === 'exec' ? 0 : c.type === 'dns' ? 3 : 1;
}

/** keepalived's delay_before_retry default: HTTP/SSL 3 s, DNS the delay loop, others 1 s. */
function defaultDelayBeforeRetry(c: CheckSpec, delayLoopS: number): number {
  return c.type === 'http' || c.type === 'https' ? 3 : c.type === 'dns' ? delayLoopS : 1;
}

/** Resolves a check's settings: checker → real server → service → checker-type default. */
export function resolveCheck(s: ServiceSpec, rs: RealServerSpec, dest: DestConfig, c: CheckSpec): ResolvedCheck {
  const h = rs.health;
  const delayLoopS = c.delayLoop ?? h?.delayLoop ?? s.health.delayLoop;
  const connectTimeoutS = (c.type !== 'exec' ? c.connectTimeout : undefined) ?? h?.connectTimeout ?? s.health.connectTimeout;
  const common = {
    spec: c,
    delayLoopS,
    retry: c.retry ?? h?.retry ?? s.health.retry ?? defaultRetry(c),
    delayBeforeRetryS: c.delayBeforeRetry ?? h?.delayBeforeRetry ?? s.health.delayBeforeRetry ?? defaultDelayBeforeRetry(c, delayLoopS),
    warmupS: c.warmup ?? h?.warmup ?? s.health.warmup ?? delayLoopS,
    alpha: c.alpha ?? h?.alpha ?? s.health.alpha,
  };
  if (c.type === 'exec') {
    return { ...common, timeoutS: c.timeout ?? delayLoopS, target: { addr: dest.addr, port: dest.port } };
  }
  const target = { addr: c.connectIp !== undefined ? mustIp(c.connectIp) : dest.addr, port: c.connectPort ?? dest.port };
  if (c.type === 'http' || c.type === 'https') {
    const vhost = c.virtualhost ?? h?.virtualhost ?? s.health.virtualhost;
    return {
      ...common,
      timeoutS: connectTimeoutS,
      target,
      virtualhosts: c.urls.map((u) => u.virtualhost ?? vhost),
      statusRanges: c.urls.map((u) => (u.statusCodes ?? ['200-299']).map(statusRange)),
    };
  }
  return { ...common, timeoutS: connectTimeoutS, target };
}

function statusRange(sc: number | string): readonly [number, number] {
  if (typeof sc === 'number') return [sc, sc];
  const [lo, hi] = sc.split('-').map(Number);
  return [lo, hi];
}
