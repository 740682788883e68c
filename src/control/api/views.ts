// JSON views of the table for the REST API. Configuration fields use the request bodies' names
// (bodies.ts), so GET /v1/config answers a document POST /v1/config accepts unchanged; the read
// endpoints add ids, counters (spec §5.4: since the last zeroing), rates and connection counts.
import { formatEndpoint, formatIp, ipv4FromU32 } from '../../core/net/addr.js';
import type { Destination } from '../../core/service/destination.js';
import {
  SVC_F_ONEPACKET, SVC_F_PERSISTENT, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3,
  type DestConfig, type ServiceConfig,
} from '../../core/service/types.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import type { StatsCounters } from '../../core/stats/counters.js';
import type { ConnView, RealServerHealth, TableOp } from '../director-api.js';
import { formatRealServerId, formatServiceId } from './ids.js';

type Json = Record<string, unknown>;

/** Scheduler flag names as ipvsadm -b spells them, specific for sh and mh. */
function schedFlagNames(flags: number, scheduler: string): string[] {
  const out: string[] = [];
  const named = scheduler === 'sh' || scheduler === 'mh';
  if (flags & SVC_F_SCHED1) out.push(named ? `${scheduler}-fallback` : 'flag-1');
  if (flags & SVC_F_SCHED2) out.push(named ? `${scheduler}-port` : 'flag-2');
  if (flags & SVC_F_SCHED3) out.push('flag-3');
  return out;
}

/** A ServiceConfig in request-body form (without real servers). */
export function serviceConfigJson(c: ServiceConfig): Json {
  const k = c.key;
  const out: Json = k.kind === 'addr'
    ? { protocol: k.protocol, address: formatIp(k.addr), port: k.port }
    : { fwmark: k.fwmark, family: k.family === 6 ? 'ipv6' : 'ipv4' };
  out.scheduler = c.scheduler;
  out.schedFlags = schedFlagNames(c.flags, c.scheduler);
  out.ops = (c.flags & SVC_F_ONEPACKET) !== 0;
  if (c.flags & SVC_F_PERSISTENT) {
    const family = k.kind === 'addr' ? k.addr.family : k.family;
    out.persistence = { timeout: c.timeoutS, netmask: family === 4 ? formatIp(ipv4FromU32(c.netmask >>> 0)) : c.netmask };
  }
  if (c.pe !== undefined) out.pe = c.pe;
  return out;
}

/** A DestConfig in request-body form. */
export function destConfigJson(d: DestConfig): Json {
  const out: Json = {
    address: formatIp(d.addr), port: d.port, weight: d.weight, forwarding: d.method,
    upperThreshold: d.uThreshold, lowerThreshold: d.lThreshold,
  };
  if (d.method === 'tunnel') {
    const t: Json = { type: d.tunType, csum: d.tunCsum };
    if (d.tunType === 'gue') t.port = d.tunPort;
    out.tunnel = t;
  }
  return out;
}

/** The whole table as a POST /v1/config body. */
export function configJson(services: readonly VirtualService[]): Json {
  return {
    services: services.map((s) => ({
      ...serviceConfigJson(s.config()),
      // Kernel order (newest first) is the body's order: changes add real servers in reverse.
      realServers: s.destinations.map((d) => destConfigJson(d.config())),
    })),
  };
}

/** Counters since the last zeroing and the estimator's rates. */
export function statsJson(s: StatsCounters): Json {
  return { ...s.snapshot(), rates: s.rates() };
}

type HealthIndex = Map<string, RealServerHealth>;

/** Indexes health entries by "service id|real server id". */
export function indexHealth(entries: readonly RealServerHealth[]): HealthIndex {
  const m: HealthIndex = new Map();
  for (const h of entries) m.set(`${formatServiceId(h.service.key)}|${formatEndpoint(h.addr, h.port)}`, h);
  return m;
}

/** A real server with its counters and health. */
export function realServerJson(svc: VirtualService, d: Destination, health?: HealthIndex): Json {
  const h = health?.get(`${formatServiceId(svc.key)}|${formatEndpoint(d.addr, d.port)}`);
  return {
    id: formatRealServerId(d),
    ...destConfigJson(d.config()),
    lastWeight: d.lastWeight,
    activeConns: d.activeConns,
    inactiveConns: d.inactConns,
    persistentConns: d.persistConns,
    available: d.isAvailable,
    overloaded: d.isOverloaded,
    health: h ? { alive: h.alive, checkers: h.checkers } : null,
    stats: statsJson(d.stats),
  };
}

/** A service with its real servers (kernel order: newest first), counters and rates. */
export function serviceJson(svc: VirtualService, health?: HealthIndex): Json {
  return {
    id: formatServiceId(svc.key),
    ...serviceConfigJson(svc.config()),
    realServers: svc.destinations.map((d) => realServerJson(svc, d, health)),
    stats: statsJson(svc.stats),
  };
}

/** A table operation in JSON (dry runs and /config answers). */
export function opJson(op: TableOp): Json {
  switch (op.op) {
    case 'add-service': case 'edit-service':
      return { op: op.op, service: formatServiceId(op.service.key), config: serviceConfigJson(op.service) };
    case 'delete-service': return { op: op.op, service: formatServiceId(op.key) };
    case 'add-dest': case 'edit-dest':
      return { op: op.op, service: formatServiceId(op.key), realServer: formatEndpoint(op.dest.addr, op.dest.port), config: destConfigJson(op.dest) };
    case 'delete-dest': return { op: op.op, service: formatServiceId(op.key), realServer: formatEndpoint(op.addr, op.port) };
    case 'zero': return op.key ? { op: op.op, service: formatServiceId(op.key) } : { op: op.op };
    case 'set-timeouts': return { op: op.op, tcp: op.tcp, tcpfin: op.tcpfin, udp: op.udp };
    default: return { op: op.op };
  }
}

/** One connection entry. */
export function connJson(c: ConnView): Json {
  return {
    protocol: c.protocol,
    client: formatEndpoint(c.client.addr, c.client.port),
    virtual: formatEndpoint(c.virtual.addr, c.virtual.port),
    realServer: formatEndpoint(c.dest.addr, c.dest.port),
    state: c.state,
    expiresS: c.expiresS,
    template: c.isTemplate,
  };
}

/** One health entry. */
export function healthJson(h: RealServerHealth): Json {
  return {
    service: formatServiceId(h.service.key),
    realServer: formatEndpoint(h.addr, h.port),
    alive: h.alive,
    inTable: h.dest !== undefined,
    weight: h.dest?.weight ?? null,
    checkers: h.checkers,
  };
}
