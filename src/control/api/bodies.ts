// Request bodies of the REST API: the zod schemas (built from the config file's own pieces in
// ../config/schema.ts, so a service reads the same in tsvs.yaml and over REST) and their
// conversion to the core's ServiceConfig/DestConfig, with the cross-field rules ipvsadm checks
// (spec §5.2). Every failure is a 400 HttpError naming the field.
import { z } from 'zod';
import { type IpAddress, parseIp, parseIpv4, ipv4ToU32 } from '../../core/net/addr.js';
import {
  DEFAULT_PERSISTENT_TIMEOUT_S, SVC_F_ONEPACKET, SVC_F_PERSISTENT, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3,
  type DestConfig, type ForwardMethod, type ServiceConfig, type ServiceKey, defaultNetmask, serviceFamily,
} from '../../core/service/types.js';
import { realServerSchema, serviceSchema } from '../config/schema.js';
import type { DesiredService } from '../director-api.js';
import { formatServiceId } from './ids.js';
import { HttpError, validate } from './json.js';

/** A real server as POST /services/{svc}/realservers and the realServers lists take it. */
export const realServerBodySchema = realServerSchema.pick({
  address: true, port: true, weight: true, forwarding: true, upperThreshold: true, lowerThreshold: true, tunnel: true,
});
/** PUT /services/{svc}/realservers/{rs}: address and port come from the path (may be repeated). */
export const realServerReplaceSchema = realServerBodySchema.partial({ address: true, port: true });
/** PATCH /services/{svc}/realservers/{rs}: only the fields to change (drain = {"weight": 0}). */
export const realServerPatchSchema = realServerBodySchema.omit({ address: true, port: true }).partial();

/** A service as POST /services and POST /config take it (realServers optional). */
export const serviceBodySchema = serviceSchema.pick({
  protocol: true, address: true, port: true, fwmark: true, family: true, scheduler: true, schedFlags: true,
  persistence: true, ops: true, pe: true, forwarding: true, tunnel: true,
}).extend({
  realServers: z.array(realServerBodySchema, { invalid_type_error: 'must be a list of real servers' }).max(10000).optional(),
});

/** POST /config: the full desired state. */
export const configBodySchema = z.object({
  services: z.array(serviceBodySchema, { invalid_type_error: 'must be a list of services', required_error: 'is required' }).max(10000),
}).strict();

export type RealServerBody = z.output<typeof realServerBodySchema>;
export type RealServerPatch = z.output<typeof realServerPatchSchema>;
export type ServiceBody = z.output<typeof serviceBodySchema>;

const bad = (field: string, message: string) => new HttpError('bad_request', `Field '${field}' ${message}`, field);

function ipField(text: string, field: string): IpAddress {
  const a = parseIp(text);
  if (!a) throw bad(field, `must be an IPv4 or IPv6 address: current value is '${text}'`);
  return a;
}

/**
 * The service key a body describes. With `pathKey` (PUT), the key fields may be left out; when
 * given they must name the same service.
 */
export function serviceKeyFromBody(b: ServiceBody, prefix = '', pathKey?: ServiceKey): ServiceKey {
  const f = (name: string) => prefix + name;
  let key: ServiceKey | undefined;
  if (b.fwmark !== undefined) {
    for (const name of ['protocol', 'address', 'port'] as const) {
      if (b[name] !== undefined) throw bad(f(name), 'must not be set for a fwmark service');
    }
    key = { kind: 'fwmark', fwmark: b.fwmark, family: b.family === 'ipv6' ? 6 : 4 };
  } else if (b.address !== undefined || b.protocol !== undefined || b.port !== undefined || !pathKey) {
    if (b.family !== undefined) throw bad(f('family'), 'is only for fwmark services (the address gives the family)');
    if (b.address === undefined) throw bad(f('address'), 'is required (or fwmark)');
    if (b.port === undefined) throw bad(f('port'), 'is required');
    key = { kind: 'addr', protocol: b.protocol ?? 'tcp', addr: ipField(b.address, f('address')), port: b.port };
  } else if (b.family !== undefined) {
    throw bad(f('family'), 'is only for fwmark services (the address gives the family)');
  }
  if (!pathKey) return key!;
  if (key && formatServiceId(key) !== formatServiceId(pathKey)) {
    const field = key.kind === 'fwmark' ? 'fwmark' : 'address';
    throw bad(f(field), `names service ${formatServiceId(key)}, not ${formatServiceId(pathKey)} of the path`);
  }
  return pathKey;
}

/** Scheduler flags to SCHED1..3 bits; sh-* only with sh and mh-* only with mh, as ipvsadm -b. */
function schedFlagBits(flags: readonly string[], scheduler: string, prefix: string): number {
  let bits = 0;
  flags.forEach((flag, i) => {
    const owner = flag.startsWith('sh-') ? 'sh' : flag.startsWith('mh-') ? 'mh' : undefined;
    if (owner && owner !== scheduler) throw bad(`${prefix}schedFlags[${i}]`, `'${flag}' is incompatible with scheduler '${scheduler}'`);
    if (flag === 'flag-1' || flag.endsWith('-fallback')) bits |= SVC_F_SCHED1;
    else if (flag === 'flag-2' || flag.endsWith('-port')) bits |= SVC_F_SCHED2;
    else bits |= SVC_F_SCHED3;
  });
  return bits;
}

/** The ServiceConfig a body describes (`prefix` is prepended to field names in errors). */
export function serviceConfigFromBody(b: ServiceBody, prefix = '', pathKey?: ServiceKey): ServiceConfig {
  const key = serviceKeyFromBody(b, prefix, pathKey);
  const family = serviceFamily(key);
  let flags = schedFlagBits(b.schedFlags, b.scheduler, prefix);
  if (b.ops) flags |= SVC_F_ONEPACKET;
  let timeoutS = 0;
  let netmask = defaultNetmask(family);
  if (b.persistence) {
    flags |= SVC_F_PERSISTENT;
    timeoutS = b.persistence.timeout ?? DEFAULT_PERSISTENT_TIMEOUT_S;
    const m = b.persistence.netmask;
    const field = `${prefix}persistence.netmask`;
    if (m !== undefined && family === 4) {
      const mask = typeof m === 'string' ? parseIpv4(m) : undefined;
      if (!mask) throw bad(field, `must be a dotted IPv4 netmask like "255.255.255.0": current value is ${JSON.stringify(m)}`);
      netmask = ipv4ToU32(mask);
    } else if (m !== undefined) {
      if (typeof m !== 'number' || m < 1 || m > 128) throw bad(field, `must be an IPv6 prefix length 1..128: current value is ${JSON.stringify(m)}`);
      netmask = m;
    }
  }
  if (key.kind === 'addr' && key.port === 0 && !b.persistence) {
    throw bad(`${prefix}port`, 'must not be 0 for a non-persistent service (zero port needs persistence)');
  }
  if (b.ops && key.kind === 'addr' && key.protocol !== 'udp') {
    throw bad(`${prefix}ops`, 'is only for UDP and fwmark services (one-packet scheduling, spec §2.8)');
  }
  return { key, scheduler: b.scheduler, flags, timeoutS, netmask, pe: b.pe };
}

/** Defaults a real server takes from its service's body (forwarding, tunnel). */
export interface RealServerDefaults {
  readonly forwarding?: ForwardMethod;
  readonly tunnel?: RealServerBody['tunnel'];
}

/** The DestConfig of a real server body under service `key`. */
export function destConfigFromBody(r: RealServerBody, key: ServiceKey, prefix = '', defaults: RealServerDefaults = {}): DestConfig {
  const f = (name: string) => prefix + name;
  const addr = ipField(r.address, f('address'));
  const method: ForwardMethod = r.forwarding ?? defaults.forwarding ?? 'droute';
  const svcPort = key.kind === 'addr' ? key.port : 0;
  const port = r.port ?? svcPort;
  if (key.kind === 'addr' && port !== svcPort && (method === 'droute' || method === 'tunnel')) {
    // ipvsadm forces the port for these methods; an API that silently changed the id would surprise.
    throw bad(f('port'), `must be the service port ${svcPort} with ${method} forwarding (only masq and fullnat change ports): current value is ${port}`);
  }
  if (r.tunnel !== undefined && method !== 'tunnel') throw bad(f('tunnel'), `is only for tunnel forwarding, not ${method}`);
  const tunnel = method === 'tunnel' ? r.tunnel ?? defaults.tunnel : undefined;
  const tunType = tunnel?.type ?? 'ipip';
  if (tunType === 'gue' && tunnel?.port === undefined) throw bad(f('tunnel.port'), 'is required for a gue tunnel');
  if (tunType !== 'gue' && tunnel?.port !== undefined) throw bad(f('tunnel.port'), `is only for gue tunnels, not ${tunType}`);
  const csum = tunnel?.csum ?? 'nocsum';
  if ((tunType === 'ipip' && csum !== 'nocsum') || (tunType === 'gre' && csum === 'remcsum')) {
    throw bad(f('tunnel.csum'), `${csum} is not available for ${tunType} tunnels (spec §5.2)`);
  }
  if (addr.family !== serviceFamily(key) && method !== 'tunnel') {
    throw bad(f('address'), `is IPv${addr.family} but the service is IPv${serviceFamily(key)}: mixing families needs tunnel forwarding`);
  }
  if (r.lowerThreshold > r.upperThreshold && r.upperThreshold !== 0) {
    throw bad(f('lowerThreshold'), `(${r.lowerThreshold}) must not be higher than upperThreshold (${r.upperThreshold})`);
  }
  return {
    addr, port, method, weight: r.weight,
    uThreshold: r.upperThreshold, lThreshold: r.lowerThreshold,
    tunType, tunPort: tunnel?.port ?? 0, tunCsum: csum,
  };
}

/** A whole service body (with its real servers) as a DesiredService; duplicates are 409s. */
export function desiredFromBody(b: ServiceBody, prefix = '', pathKey?: ServiceKey): DesiredService {
  const service = serviceConfigFromBody(b, prefix, pathKey);
  const seen = new Set<string>();
  const dests = (b.realServers ?? []).map((r, i) => {
    const d = destConfigFromBody(r, service.key, `${prefix}realServers[${i}].`, { forwarding: b.forwarding, tunnel: b.tunnel });
    const id = `${d.addr.bytes.join('.')}|${d.port}`;
    if (seen.has(id)) throw new HttpError('conflict', `Field '${prefix}realServers[${i}]' repeats real server ${r.address}:${d.port}`, `${prefix}realServers[${i}]`);
    seen.add(id);
    return d;
  });
  return { service, dests };
}

/** POST /config: validates the body and converts every service; duplicate services are 409s. */
export function desiredStateFromBody(body: unknown): DesiredService[] {
  const cfg = validate(configBodySchema, body);
  const seen = new Map<string, number>();
  return cfg.services.map((s, i) => {
    const d = desiredFromBody(s, `services[${i}].`);
    const id = formatServiceId(d.service.key);
    const first = seen.get(id);
    if (first !== undefined) throw new HttpError('conflict', `Field 'services[${i}]' repeats service ${id} (first at services[${first}])`, `services[${i}]`);
    seen.set(id, i);
    return d;
  });
}
