// Semantic rules of tsvs.yaml that relate several fields: what ipvsadm and the kernel refuse
// (spec §5.2), what keepalived forces (spec §7.1), and tsvs's own safety rules (API exposure,
// fullnat address pools). Runs on whatever passed the schema, so errors of every section are
// reported together.
import { formatEndpoint, ipKey, isLoopback, parseEndpoint, parseIp, parsePrefix, sameEndpoint } from '../../core/net/addr.js';
import type { AddressFamily, IpAddress } from '../../core/net/addr.js';
import type { CheckSpec, Config, OffloadMode, RealServerSpec, ServiceSpec, TunnelSpec } from './schema.js';
import { MIN_TOKEN_LENGTH } from './schema-values.js';
import { famName, netmaskExpected, netmaskFits } from './netmask.js';

/** One step of a field path: a mapping key or a list index. */
export type PathSeg = string | number;
type Report = (path: readonly PathSeg[], message: string) => void;

/** Checks every cross-field rule; reports each violation at the field it concerns. */
export function validateConfig(cfg: Partial<Config>, services: readonly { index: number; spec: ServiceSpec }[], report: Report): void {
  validateDataplane(cfg, report);
  validateApi(cfg, report);
  if (cfg.sysctl) {
    const [threshold, period] = cfg.sysctl.sync_threshold;
    if (period !== 0 && threshold >= period) {
      report(['sysctl', 'sync_threshold'], `threshold must be less than period unless period is 0: current value is [${threshold}, ${period}]`);
    }
  }
  const seen = new Map<string, number>();
  const names = new Map<string, number>();
  for (const { index, spec } of services) {
    const path = ['services', index];
    const key = validateService(spec, path, cfg, report);
    if (key !== undefined) {
      const prev = seen.get(key);
      if (prev !== undefined) report(path, `duplicate service ${key} (also services[${prev}])`);
      else seen.set(key, index);
    }
    if (spec.name !== undefined) {
      const prev = names.get(spec.name);
      if (prev !== undefined) report([...path, 'name'], `duplicate name ${JSON.stringify(spec.name)} (also services[${prev}])`);
      else names.set(spec.name, index);
    }
  }
}

function validateDataplane(cfg: Partial<Config>, report: Report): void {
  const dp = cfg.dataplane;
  if (!dp) return;
  if (dp.kind === 'packet' && dp.interfaces.length === 0) report(['dataplane', 'kind'], 'the packet dataplane needs dataplane.interfaces');
  if (dp.kind === 'proxy' && dp.interfaces.length > 0) report(['dataplane', 'interfaces'], 'interfaces are only for the packet dataplane (kind: packet)');
  dp.proxy.proxyProtocolTrusted.forEach((c, i) => {
    if (!parsePrefix(c)) report(['dataplane', 'proxy', 'proxyProtocolTrusted', i], `must be an address or CIDR like 10.0.0.0/8: current value is ${JSON.stringify(c)}`);
  });
  const seen = new Set<string>();
  dp.fullnat.localAddresses.forEach((a, i) => {
    const ip = parseIp(a);
    const path = ['dataplane', 'fullnat', 'localAddresses', i];
    if (!ip) report(path, `must be an IPv4 or IPv6 address: current value is ${JSON.stringify(a)}`);
    else if (seen.has(ipKey(ip))) report(path, `duplicate address ${ipKey(ip)}`);
    else seen.add(ipKey(ip));
  });
  const { min, max } = dp.fullnat.portRange;
  if (min > max) report(['dataplane', 'fullnat', 'portRange', 'min'], `must be <= max (${max}): current value is ${min}`);
  // kind: packet only; `tsvs run --dataplane packet [--offload]` over another kind is checked when the plane starts.
  if (dp.kind === 'packet') for (const p of packetWorkerProblems(dp, dp.packet.offload)) report(p.path, p.message);
}

/**
 * What several packet-plane workers rule out: the kernel fast path (its flow map and program
 * belong to one worker), and a full-NAT port range without a port for every worker (each takes
 * the ports of its own residue, port % workers, so that replies are steered to it). Checked for
 * the config, and again when the plane starts with the effective (command-line) dataplane.
 */
export function packetWorkerProblems(dp: Config['dataplane'], offload: OffloadMode): { path: PathSeg[]; message: string }[] {
  const workers = dp.packet.workers;
  const out: { path: PathSeg[]; message: string }[] = [];
  if (workers > 1 && offload !== 'none') {
    out.push({ path: ['dataplane', 'packet', 'workers'], message: `the kernel fast path (offload: ${offload}) belongs to one forwarding worker: current value is ${workers}` });
  }
  const { min, max } = dp.fullnat.portRange;
  if (dp.fullnat.localAddresses.length > 0 && min <= max && max - min + 1 < workers) {
    out.push({ path: ['dataplane', 'fullnat', 'portRange'], message: `must hold at least one port per packet-plane worker (${workers}, each takes the ports of its own residue): current range is ${min}-${max}` });
  }
  return out;
}

function validateApi(cfg: Partial<Config>, report: Report): void {
  const api = cfg.api;
  // The API's credentials guard every listener off loopback: the API's and the metrics' own.
  const authenticated = api !== undefined && (api.token !== undefined || api.tokenFile !== undefined || api.tls?.clientCa !== undefined);
  const exposed = (path: readonly PathSeg[], at: string, what: string) =>
    report(path, `${at} is not a loopback address: set api.token, api.tokenFile or api.tls.clientCa (mTLS) to expose ${what}`);
  let apiListen: string | undefined;
  if (api) {
    const ep = parseEndpoint(api.listen);
    if (!ep || ep.port === 0) report(['api', 'listen'], `must be ip:port or [ip6]:port with a port 1..65535: current value is ${JSON.stringify(api.listen)}`);
    else apiListen = formatEndpoint(ep.addr, ep.port);
    if (api.token !== undefined && api.tokenFile !== undefined) report(['api', 'tokenFile'], 'token and tokenFile are mutually exclusive');
    if (api.token !== undefined && api.token.length < MIN_TOKEN_LENGTH) report(['api', 'token'], `must be at least ${MIN_TOKEN_LENGTH} characters: current length is ${api.token.length}`);
    if (api.enabled && ep && !isLoopback(ep.addr) && !authenticated) exposed(['api', 'listen'], apiListen!, 'the API');
  }
  const m = cfg.metrics;
  if (!m) return;
  if (m.listen !== undefined) {
    const ep = parseEndpoint(m.listen);
    if (!ep || ep.port === 0) report(['metrics', 'listen'], `must be ip:port or [ip6]:port with a port 1..65535: current value is ${JSON.stringify(m.listen)}`);
    else if (api?.enabled && sameEndpoint(api.listen, m.listen)) report(['metrics', 'listen'], `is the api listener already (leave metrics.listen unset to serve ${m.path} there)`);
    else if (m.enabled && !isLoopback(ep.addr) && !authenticated) exposed(['metrics', 'listen'], formatEndpoint(ep.addr, ep.port), 'the metrics');
  } else if (m.enabled && api && !api.enabled) {
    report(['metrics', 'enabled'], 'metrics are served on the api listener, which is disabled: set metrics.listen or api.enabled');
  }
}

/** Validates a service; returns its identity ("tcp 10.0.0.1:80", "fwmark 1 IPv4") when well-formed. */
function validateService(s: ServiceSpec, path: PathSeg[], cfg: Partial<Config>, report: Report): string | undefined {
  let family: AddressFamily | undefined;
  let key: string | undefined;
  if (s.fwmark !== undefined) {
    for (const k of ['address', 'port', 'protocol'] as const) {
      if (s[k] !== undefined) report([...path, k], `must not be set with fwmark (a fwmark service matches marked packets of any ${k === 'protocol' ? 'protocol' : 'address and port'})`);
    }
    family = s.family === 'ipv6' ? 6 : 4;
    key = `fwmark ${s.fwmark} ${famName(family)}`;
  } else {
    if (s.family !== undefined) report([...path, 'family'], 'is only for fwmark services (the address gives the family)');
    if (s.address === undefined) report([...path, 'address'], 'is required (or fwmark)');
    if (s.protocol === undefined) report([...path, 'protocol'], 'is required with address (tcp, udp or sctp)');
    if (s.port === undefined) report([...path, 'port'], 'is required with address (0 only for persistent services)');
    if (s.address !== undefined) {
      const ip = parseIp(s.address);
      if (!ip) report([...path, 'address'], `must be an IPv4 or IPv6 address: current value is ${JSON.stringify(s.address)}`);
      else {
        family = ip.family;
        if (s.protocol !== undefined && s.port !== undefined) key = `${s.protocol} ${formatEndpoint(ip, s.port)}`;
      }
    }
    if (s.port === 0 && !s.persistence) report([...path, 'port'], '0 is only allowed for persistent services (ipvsadm: Zero port specified for non-persistent service)');
  }
  if (s.ops && s.fwmark === undefined && s.protocol !== 'udp') {
    report([...path, 'ops'], `one-packet scheduling is only for udp and fwmark services: current protocol is ${s.protocol ?? 'missing'}`);
  }
  const flagsSeen = new Set<string>();
  s.schedFlags.forEach((f, i) => {
    if (flagsSeen.has(f)) report([...path, 'schedFlags', i], `${f} is listed twice`);
    flagsSeen.add(f);
    const needs = f.startsWith('sh-') ? 'sh' : f.startsWith('mh-') ? 'mh' : undefined;
    if (needs && s.scheduler !== needs) report([...path, 'schedFlags', i], `${f} needs scheduler ${needs}: current scheduler is ${s.scheduler}`);
  });
  if (s.persistence?.netmask !== undefined && family !== undefined) validateNetmask(s.persistence.netmask, family, [...path, 'persistence', 'netmask'], report);
  if (s.pe !== undefined && !s.persistence) report([...path, 'pe'], 'needs persistence (the persistence engine works on persistence templates)');
  if (s.tunnel) {
    if (s.forwarding !== 'tunnel') report([...path, 'tunnel'], `tunnel options need forwarding: tunnel: current forwarding is ${s.forwarding}`);
    else validateTunnel(s.tunnel, [...path, 'tunnel'], report);
  }
  if (s.hysteresis >= s.quorum) report([...path, 'hysteresis'], `must be less than quorum (${s.quorum}): current value is ${s.hysteresis}`);

  const svcPort = s.fwmark !== undefined ? 0 : s.port;
  if (s.sorryServer) {
    const ss = s.sorryServer;
    validateServer(s, { address: ss.address, port: ss.port, forwarding: ss.forwarding, tunnel: ss.tunnel }, family, svcPort, [...path, 'sorryServer'], cfg, report);
  }
  const rsSeen = new Map<string, number>();
  s.realServers.forEach((rs, j) => {
    const rpath = [...path, 'realServers', j];
    const id = validateServer(s, rs, family, svcPort, rpath, cfg, report);
    if (id !== undefined) {
      const prev = rsSeen.get(id);
      if (prev !== undefined) report(rpath, `duplicate real server ${id} (also realServers[${prev}])`);
      else rsSeen.set(id, j);
    }
    validateRealServerExtras(rs, rpath, cfg, report);
    rs.checks.forEach((c, k) => validateCheck(c, id === undefined ? undefined : rsPortOf(id), [...rpath, 'checks', k], report));
  });
  return key;
}

function rsPortOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(':') + 1));
}

interface ServerLike {
  address: string;
  port?: number;
  forwarding?: RealServerSpec['forwarding'];
  tunnel?: TunnelSpec;
}

/** Rules shared by real servers and the sorry server; returns "addr:port" as ipvsadm would program it. */
function validateServer(
  s: ServiceSpec, rs: ServerLike, family: AddressFamily | undefined, svcPort: number | undefined,
  path: PathSeg[], cfg: Partial<Config>, report: Report,
): string | undefined {
  const fwd = rs.forwarding ?? s.forwarding;
  const ip = parseIp(rs.address);
  if (!ip) report([...path, 'address'], `must be an IPv4 or IPv6 address: current value is ${JSON.stringify(rs.address)}`);
  else if (family !== undefined && ip.family !== family && fwd !== 'tunnel') {
    report([...path, 'address'], `is ${famName(ip.family)} but the service is ${famName(family)}: only tunnel forwarding may cross address families`);
  }
  // ipvsadm forces the port of droute/tunnel servers to the service port (spec §5.2): a
  // different port here would be silently ignored, so it is an error.
  const forced = (fwd === 'droute' || fwd === 'tunnel') && s.fwmark === undefined;
  if (forced && rs.port !== undefined && svcPort !== undefined && rs.port !== svcPort) {
    report([...path, 'port'], `must equal the service port ${svcPort} with ${fwd} forwarding (the packet keeps its destination port): current value is ${rs.port}`);
  }
  if (rs.tunnel) {
    if (fwd !== 'tunnel') report([...path, 'tunnel'], `tunnel options need forwarding: tunnel (ipvsadm: Tunnel options conflict with forward method): current forwarding is ${fwd}`);
    else validateTunnel(rs.tunnel, [...path, 'tunnel'], report);
  }
  if (fwd === 'fullnat' && ip && cfg.dataplane) {
    const pool = cfg.dataplane.fullnat.localAddresses.map(parseIp).filter((a): a is IpAddress => a !== undefined && a.family === ip.family);
    if (pool.length === 0) report([...path, rs.forwarding ? 'forwarding' : 'address'], `fullnat needs an ${famName(ip.family)} address in dataplane.fullnat.localAddresses`);
  }
  if (!ip) return undefined;
  const port = forced ? svcPort : rs.port ?? svcPort;
  return port === undefined ? undefined : formatEndpoint(ip, port);
}

function validateRealServerExtras(rs: RealServerSpec, path: PathSeg[], cfg: Partial<Config>, report: Report): void {
  if (rs.upperThreshold > 0 && rs.lowerThreshold > rs.upperThreshold) {
    report([...path, 'lowerThreshold'], `must be <= upperThreshold (${rs.upperThreshold}): current value is ${rs.lowerThreshold}`);
  }
  if (rs.proxyProtocol !== 'none' && cfg.dataplane?.kind === 'packet') {
    report([...path, 'proxyProtocol'], 'only the proxy dataplane sends PROXY protocol headers (dataplane.kind is packet)');
  }
}

/** gue needs a port, ipip/gre take none; checksum options per type (spec §5.2). */
function validateTunnel(t: TunnelSpec, path: PathSeg[], report: Report): void {
  if (t.type === 'gue' && t.port === undefined) report([...path, 'port'], 'is required for gue tunnels');
  if (t.type !== 'gue' && t.port !== undefined) report([...path, 'port'], `is only for gue tunnels: current type is ${t.type}`);
  if (t.type === 'ipip' && t.csum !== 'nocsum') report([...path, 'csum'], `ipip tunnels take no checksum option: current value is ${t.csum}`);
  if (t.type === 'gre' && t.csum === 'remcsum') report([...path, 'csum'], 'remcsum is only for gue tunnels');
}

function validateNetmask(mask: string | number, family: AddressFamily, path: PathSeg[], report: Report): void {
  if (netmaskFits(mask, family)) return;
  const want = `${netmaskExpected(family)}${family === 4 ? ' like 255.255.255.0' : ''} for an ${famName(family)} service`;
  report(path, `must be ${want}: current value is ${JSON.stringify(mask)}`);
}

function validateCheck(c: CheckSpec, rsPort: number | undefined, path: PathSeg[], report: Report): void {
  if (c.type === 'exec') return;
  for (const k of ['connectIp', 'bindTo'] as const) {
    const v = c[k];
    if (v !== undefined && !parseIp(v)) report([...path, k], `must be an IPv4 or IPv6 address: current value is ${JSON.stringify(v)}`);
  }
  if (rsPort === 0 && c.connectPort === undefined) report([...path, 'connectPort'], 'is required: the real server has no port (port 0)');
  if (c.type === 'http' || c.type === 'https') {
    c.urls.forEach((u, i) => {
      if (u.regex !== undefined) {
        try { new RegExp(u.regex); } catch (e) { report([...path, 'urls', i, 'regex'], `is not a valid regular expression: ${(e as Error).message}`); }
      }
      u.statusCodes?.forEach((sc, k) => {
        if (typeof sc === 'string') {
          const [lo, hi] = sc.split('-').map(Number);
          if (lo > hi) report([...path, 'urls', i, 'statusCodes', k], `range must go upwards: current value is ${JSON.stringify(sc)}`);
        }
      });
    });
    if (c.type === 'https' && c.sniName !== undefined && !c.enableSni) report([...path, 'sniName'], 'needs enableSni: true');
  }
  if (c.type === 'udp' && c.minReplyLength > c.maxReplyLength) report([...path, 'minReplyLength'], `must be <= maxReplyLength (${c.maxReplyLength}): current value is ${c.minReplyLength}`);
}

