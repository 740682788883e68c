// keepalived virtual_server / real_server blocks (spec §7.1) → tsvs.yaml services. Values are
// resolved the way keepalived programs IPVS: NAT by default, persistence 360 s when the timeout
// has no value or the port is 0, DR/TUN real servers on the service port, OPS only for UDP,
// sh-/mh- flags only with their scheduler, hysteresis forced below quorum (spec §7.1, §7.2).
import { formatEndpoint, formatIp, maskPrefixLength, parseIp, parseIpv4 } from '../../../core/net/addr.js';
import type { AddressFamily, IpAddress } from '../../../core/net/addr.js';
import { SCHEDULERS } from '../schema.js';
import { CHECKERS, UNSUPPORTED_CHECKERS, convertChecker } from './checks.js';
import type { CheckOut } from './checks.js';
import type { KaNode } from './parser.js';
import { expectArgs, readBool, readInt, readScript, readTimer } from './values.js';
import type { ReadCtx, ScriptOut } from './values.js';

/** What a virtual_server stands for: one address/port, or one fwmark. */
export type VsKey =
  | { kind: 'addr'; addr: IpAddress; port: number; line: number }
  | { kind: 'fwmark'; fwmark: number; family?: AddressFamily; line: number };

/** A converted service with where it came from (for comments and for dropping it later). */
export interface ServiceOut {
  readonly file: string;
  readonly line: number;
  readonly title: string;
  /** The virtual_server line as written (and the group entry it came from). */
  readonly source: string;
  readonly spec: Record<string, unknown>;
  /** Source lines of the real servers, in output order. */
  readonly rsLines: readonly { line: number; title: string }[];
}

interface Method {
  forwarding: 'masq' | 'droute' | 'tunnel';
  tunnel?: { type: string; port?: number; csum?: string };
}

interface RsState {
  node: KaNode;
  addr: IpAddress;
  port?: number;
  weight?: number;
  method?: Method;
  uth?: number;
  lth?: number;
  notifyUp?: ScriptOut;
  notifyDown?: ScriptOut;
  health: Record<string, unknown>;
  checks: { node: KaNode; check: CheckOut }[];
}

interface VsState {
  name?: string;
  scheduler: string;
  flags: KaNode[];
  ops?: KaNode;
  method: Method;
  persistence?: { timeout: number; netmask?: string | number; netmaskNode?: KaNode };
  pe?: KaNode;
  protocol?: 'tcp' | 'udp' | 'sctp';
  ipFamily?: AddressFamily;
  health: Record<string, unknown>;
  quorum?: number;
  hysteresis?: number;
  hysteresisNode?: KaNode;
  quorumUp?: ScriptOut;
  quorumDown?: ScriptOut;
  sorry?: { node: KaNode; addr: IpAddress; port?: number };
  sorryInhibit?: KaNode;
  sorryMethod?: Method;
  defaultWeight?: number;
  rs: RsState[];
}

const SCHED_FLAG_WORDS = new Set(['flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback']);

/** Reads `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`. */
function readMethod(ctx: ReadCtx, node: KaNode): Method | undefined {
  if (!expectArgs(ctx, node, 1, 6)) return undefined;
  const warn = (d: string) => ctx.diag.add(node.file, node.line, 'warning', `${node.keyword}: ${d}`);
  const kind = node.args[0].text.toUpperCase();
  if (kind === 'NAT' || kind === 'DR') {
    if (node.args.length > 1) warn('tunnel options are only for TUN; ignored');
    return { forwarding: kind === 'NAT' ? 'masq' : 'droute' };
  }
  if (kind !== 'TUN') { warn(`${JSON.stringify(node.args[0].text)} is not NAT, DR or TUN; ignored`); return undefined; }
  const words = node.args.slice(1).map((a) => a.text.toLowerCase());
  const tunnel: { type: string; port?: number; csum?: string } = { type: 'ipip' };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 'type' && ['ipip', 'gue', 'gre'].includes(words[i + 1] ?? '')) { tunnel.type = words[++i]; continue; }
    if (w === 'port' && /^[0-9]{1,5}$/.test(words[i + 1] ?? '') && Number(words[i + 1]) >= 1 && Number(words[i + 1]) <= 65535) { tunnel.port = Number(words[++i]); continue; }
    if (w === 'nocsum' || w === 'csum' || w === 'remcsum') { tunnel.csum = w; continue; }
    warn(`unexpected ${JSON.stringify(w)} in the tunnel options; TUN left as ipip`);
    return { forwarding: 'tunnel', tunnel: { type: 'ipip' } };
  }
  if (tunnel.type === 'gue' && tunnel.port === undefined) { warn('a gue tunnel needs port N; TUN left as ipip'); return { forwarding: 'tunnel', tunnel: { type: 'ipip' } }; }
  if (tunnel.type !== 'gue' && tunnel.port !== undefined) { warn(`port is only for gue tunnels; port ignored`); delete tunnel.port; }
  if (tunnel.type === 'ipip' && tunnel.csum !== undefined) { warn('ipip tunnels take no checksum option; ignored'); delete tunnel.csum; }
  if (tunnel.type === 'gre' && tunnel.csum === 'remcsum') { warn('remcsum is only for gue tunnels; ignored'); delete tunnel.csum; }
  return { forwarding: 'tunnel', tunnel };
}

/** True for the ipvsadm default tunnel (ipip, no options), which needs no YAML. */
function plainTunnel(t: Method['tunnel']): boolean {
  return t === undefined || (t.type === 'ipip' && t.port === undefined && t.csum === undefined);
}

/** Health keywords shared by virtual_server and real_server; true when `opt` was one. */
function applyHealth(ctx: ReadCtx, opt: KaNode, h: Record<string, unknown>): boolean {
  let v: number | boolean | undefined;
  switch (opt.keyword) {
    case 'delay_loop': v = readTimer(ctx, opt, 0, 0.001, 86400); if (v !== undefined) h.delayLoop = v; return true;
    case 'connect_timeout': v = readTimer(ctx, opt, 0, 0.001, 3600); if (v !== undefined) h.connectTimeout = v; return true;
    case 'retry': v = readInt(ctx, opt, 0, 0, 1000); if (v !== undefined) h.retry = v; return true;
    case 'delay_before_retry': v = readTimer(ctx, opt, 0, 0, 86400); if (v !== undefined) h.delayBeforeRetry = v; return true;
    case 'warmup': v = readTimer(ctx, opt, 0, 0, 86400); if (v !== undefined) h.warmup = v; return true;
    case 'alpha': v = readBool(ctx, opt); if (v !== undefined) h.alpha = v; return true;
    case 'inhibit_on_failure': v = readBool(ctx, opt); if (v !== undefined) h.inhibitOnFailure = v; return true;
    case 'virtualhost': if (expectArgs(ctx, opt, 1, 1)) h.virtualhost = opt.args[0].text; return true;
    default: return false;
  }
}

/** Reads a virtual_server block into its settings (independent of its key(s)). */
export function readVirtualServer(ctx: ReadCtx, node: KaNode): VsState {
  const vs: VsState = { scheduler: 'wlc', flags: [], method: { forwarding: 'masq' }, health: {}, rs: [] };
  let v: number | boolean | undefined;
  for (const opt of node.block ?? []) {
    const k = opt.keyword;
    if (applyHealth(ctx, opt, vs.health)) continue;
    if (SCHED_FLAG_WORDS.has(k)) { vs.flags.push(opt); continue; }
    switch (k) {
      case 'lvs_sched':
      case 'lb_algo':
        if (!expectArgs(ctx, opt, 1, 1)) break;
        if ((SCHEDULERS as readonly string[]).includes(opt.args[0].text)) vs.scheduler = opt.args[0].text;
        else ctx.diag.add(opt.file, opt.line, 'warning', `${k}: ${JSON.stringify(opt.args[0].text)} is not a scheduler tsvs has (${SCHEDULERS.join(', ')}); wlc used`);
        break;
      case 'ops': vs.ops = opt; break;
      case 'hashed': ctx.diag.add(opt.file, opt.line, 'note', 'hashed: the kernel sets this flag itself; ignored'); break;
      case 'lvs_method':
      case 'lb_kind': { const m = readMethod(ctx, opt); if (m) vs.method = m; break; }
      case 'persistence_timeout': {
        // No value → IPVS_SVC_PERSISTENT_TIMEOUT (360 s); 0 is refused by keepalived.
        if (opt.args.length === 0) { vs.persistence = { ...vs.persistence, timeout: 360 }; break; }
        v = readInt(ctx, opt, 0, 1, 2678400);
        if (v !== undefined) vs.persistence = { ...vs.persistence, timeout: v };
        break;
      }
      case 'persistence_granularity': {
        if (!expectArgs(ctx, opt, 1, 1)) break;
        const t = opt.args[0].text;
        const mask = t.includes('.') ? t : /^[0-9]{1,3}$/.test(t) ? Number(t) : undefined;
        if (mask === undefined) { ctx.diag.add(opt.file, opt.line, 'warning', `${k}: ${JSON.stringify(t)} is neither a dotted netmask nor a prefix length; ignored`); break; }
        // keepalived turns persistence on (360 s) when only the granularity is given.
        vs.persistence = { timeout: vs.persistence?.timeout ?? 360, netmask: mask, netmaskNode: opt };
        break;
      }
      case 'persistence_engine': if (expectArgs(ctx, opt, 1, 1)) vs.pe = opt; break;
      case 'protocol': {
        if (!expectArgs(ctx, opt, 1, 1)) break;
        const p = opt.args[0].text.toLowerCase();
        if (p === 'tcp' || p === 'udp' || p === 'sctp') vs.protocol = p;
        else ctx.diag.add(opt.file, opt.line, 'warning', `protocol: ${JSON.stringify(opt.args[0].text)} is not TCP, UDP or SCTP; ignored`);
        break;
      }
      case 'ha_suspend': vs.health.haSuspend = true; break;
      case 'omega': v = readBool(ctx, opt); if (v !== undefined) vs.health.omega = v; break;
      case 'quorum': v = readInt(ctx, opt, 0, 1, 2147483647); if (v !== undefined) vs.quorum = v; break;
      case 'hysteresis': v = readInt(ctx, opt, 0, 0, 2147483647); if (v !== undefined) { vs.hysteresis = v; vs.hysteresisNode = opt; } break;
      case 'quorum_up': { const s = readScript(ctx, opt); if (s) vs.quorumUp = s; break; }
      case 'quorum_down': { const s = readScript(ctx, opt); if (s) vs.quorumDown = s; break; }
      case 'sorry_server': {
        if (!expectArgs(ctx, opt, 1, 2)) break;
        const addr = parseIp(opt.args[0].text);
        const port = opt.args[1] === undefined ? undefined : readInt(ctx, opt, 1, 0, 65535);
        if (!addr) ctx.diag.add(opt.file, opt.line, 'warning', `sorry_server: ${JSON.stringify(opt.args[0].text)} is not an IP address; ignored`);
        else if (opt.args[1] === undefined || port !== undefined) vs.sorry = { node: opt, addr, port };
        break;
      }
      case 'sorry_server_inhibit': vs.sorryInhibit = opt; break;
      case 'sorry_server_lvs_method': { const m = readMethod(ctx, opt); if (m) vs.sorryMethod = m; break; }
      case 'weight': v = readInt(ctx, opt, 0, 0, 65535); if (v !== undefined) vs.defaultWeight = v; break;
      case 'ip_family': {
        if (!expectArgs(ctx, opt, 1, 1)) break;
        const f = opt.args[0].text;
        if (f === 'inet' || f === 'inet6') vs.ipFamily = f === 'inet' ? 4 : 6;
        else ctx.diag.add(opt.file, opt.line, 'warning', `ip_family: ${JSON.stringify(f)} is not inet or inet6; ignored`);
        break;
      }
      case 'snmp_name': if (expectArgs(ctx, opt, 1, 1)) vs.name = opt.args[0].text; break;
      case 'smtp_alert': ctx.diag.unsupported(opt.file, opt.line, 'smtp_alert', 'tsvs sends no e-mail; use quorumUp/quorumDown scripts'); break;
      case 'real_server': { const rs = readRealServer(ctx, opt); if (rs) vs.rs.push(rs); break; }
      default: ctx.diag.unsupported(opt.file, opt.line, k, 'unknown or unsupported virtual_server keyword');
    }
  }
  return vs;
}

function readRealServer(ctx: ReadCtx, node: KaNode): RsState | undefined {
  if (!expectArgs(ctx, node, 1, 2)) return undefined;
  const addr = parseIp(node.args[0].text);
  if (!addr) {
    ctx.diag.add(node.file, node.line, 'warning', `real_server: ${JSON.stringify(node.args[0].text)} is not an IP address; the real server was left out`);
    return undefined;
  }
  let port: number | undefined;
  if (node.args[1] !== undefined) {
    port = readInt(ctx, node, 1, 0, 65535);
    if (port === undefined) return undefined;
  }
  const rs: RsState = { node, addr, port, health: {}, checks: [] };
  let v: number | boolean | undefined;
  for (const opt of node.block ?? []) {
    const k = opt.keyword;
    if (applyHealth(ctx, opt, rs.health)) continue;
    if (k in CHECKERS) {
      const c = convertChecker(ctx, opt);
      if (c) rs.checks.push({ node: opt, check: c });
      continue;
    }
    if (k in UNSUPPORTED_CHECKERS) { ctx.diag.unsupported(opt.file, opt.line, k, UNSUPPORTED_CHECKERS[k]); continue; }
    switch (k) {
      case 'weight': v = readInt(ctx, opt, 0, 0, 65535); if (v !== undefined) rs.weight = v; break;
      case 'lvs_method':
      case 'lb_kind': { const m = readMethod(ctx, opt); if (m) rs.method = m; break; }
      case 'uthreshold': v = readInt(ctx, opt, 0, 0, 2147483647); if (v !== undefined) rs.uth = v; break;
      case 'lthreshold': v = readInt(ctx, opt, 0, 0, 2147483647); if (v !== undefined) rs.lth = v; break;
      case 'notify_up': { const s = readScript(ctx, opt); if (s) rs.notifyUp = s; break; }
      case 'notify_down': { const s = readScript(ctx, opt); if (s) rs.notifyDown = s; break; }
      case 'smtp_alert': ctx.diag.unsupported(opt.file, opt.line, 'smtp_alert', 'tsvs sends no e-mail; use notifyUp/notifyDown scripts'); break;
      case 'snmp_name': ctx.diag.add(opt.file, opt.line, 'note', 'snmp_name: tsvs has no SNMP; ignored'); break;
      default: ctx.diag.unsupported(opt.file, opt.line, k, 'unknown or unsupported real_server keyword');
    }
  }
  return rs;
}

const famName = (f: AddressFamily) => (f === 4 ? 'IPv4' : 'IPv6');

/** Builds the tsvs service for one key of a virtual_server, applying keepalived's rules. */
export function buildService(ctx: ReadCtx, node: KaNode, vs: VsState, key: VsKey, name: string | undefined): ServiceOut {
  const warn = (n: KaNode, m: string) => ctx.diag.add(n.file, n.line, 'warning', m);
  const spec: Record<string, unknown> = {};
  if (name !== undefined) spec.name = name;
  let family: AddressFamily;
  let title: string;
  let protocol = vs.protocol;
  let persistence = vs.persistence ? { ...vs.persistence } : undefined;
  if (key.kind === 'addr') {
    family = key.addr.family;
    if (protocol === undefined) {
      protocol = 'udp';
      warn(node, 'virtual_server has no protocol: keepalived defaults to UDP, and so does this import (add "protocol TCP" if you meant TCP)');
    }
    spec.protocol = protocol;
    spec.address = formatIp(key.addr);
    spec.port = key.port;
    title = `${protocol} ${formatEndpoint(key.addr, key.port)}`;
    if (key.port === 0 && !persistence) {
      warn(node, 'virtual_server without a port must be persistent: persistence forced to 360 s, as keepalived does');
      persistence = { timeout: 360 };
    }
  } else {
    family = key.family ?? vs.ipFamily ?? familyFromServers(vs) ?? 4;
    spec.fwmark = key.fwmark;
    spec.family = family === 6 ? 'ipv6' : 'ipv4';
    title = `fwmark ${key.fwmark} ${famName(family)}`;
  }
  spec.scheduler = vs.scheduler;
  const flags: string[] = [];
  for (const f of vs.flags) {
    const needs = f.keyword.startsWith('sh-') ? 'sh' : f.keyword.startsWith('mh-') ? 'mh' : undefined;
    if (needs && vs.scheduler !== needs) warn(f, `${f.keyword} only applies to the ${needs} scheduler (lvs_sched is ${vs.scheduler}); ignored, as keepalived does`);
    else if (!flags.includes(f.keyword)) flags.push(f.keyword);
  }
  if (flags.length) spec.schedFlags = flags;
  if (persistence) {
    const p: Record<string, unknown> = { timeout: persistence.timeout };
    if (persistence.netmask !== undefined) {
      if (netmaskFits(persistence.netmask, family)) p.netmask = persistence.netmask;
      else warn(persistence.netmaskNode ?? node, `persistence_granularity: ${persistence.netmask} is not a ${family === 4 ? 'contiguous dotted IPv4 netmask' : 'prefix length 1..128'} for this ${famName(family)} service; ignored`);
    }
    spec.persistence = p;
  }
  if (vs.ops) {
    if (protocol === 'udp') spec.ops = true;
    else warn(vs.ops, 'ops: one-packet scheduling is only for UDP services; ignored, as keepalived does');
  }
  if (vs.pe) {
    if (vs.pe.args[0].text !== 'sip') warn(vs.pe, `persistence_engine: only sip exists; ${JSON.stringify(vs.pe.args[0].text)} ignored`);
    else if (!persistence) warn(vs.pe, 'persistence_engine: needs persistence_timeout; ignored');
    else spec.pe = 'sip';
  }
  // keepalived's default forwarding is NAT (ipvsadm's is DR), so it is always written out.
  spec.forwarding = vs.method.forwarding;
  if (!plainTunnel(vs.method.tunnel)) spec.tunnel = vs.method.tunnel;
  if (Object.keys(vs.health).length) spec.health = { ...vs.health };
  if (vs.quorum !== undefined) spec.quorum = vs.quorum;
  const quorum = vs.quorum ?? 1;
  if (vs.hysteresis !== undefined) {
    if (vs.hysteresis >= quorum) {
      warn(vs.hysteresisNode ?? node, `hysteresis ${vs.hysteresis} is not below quorum ${quorum}: set to ${quorum - 1}, as keepalived does`);
      if (quorum - 1 > 0) spec.hysteresis = quorum - 1;
    } else spec.hysteresis = vs.hysteresis;
  }
  if (vs.quorumUp) spec.quorumUp = vs.quorumUp;
  if (vs.quorumDown) spec.quorumDown = vs.quorumDown;
  const svcPort = key.kind === 'addr' ? key.port : 0;
  if (vs.sorry) {
    const m = vs.sorryMethod ?? vs.method;
    if (vs.sorry.addr.family !== family && m.forwarding !== 'tunnel') {
      warn(vs.sorry.node, `sorry_server ${formatIp(vs.sorry.addr)} is ${famName(vs.sorry.addr.family)} but the service is ${famName(family)}: skipped, as keepalived does`);
    } else {
      const ss: Record<string, unknown> = { address: formatIp(vs.sorry.addr) };
      const port = serverPort(key, m.forwarding, vs.sorry.port, svcPort);
      if (port !== undefined) ss.port = port;
      if (vs.sorryMethod) ss.forwarding = vs.sorryMethod.forwarding;
      // An own TUN method overrides the service's tunnel options (ipip included).
      if (vs.sorryMethod?.tunnel && !(plainTunnel(vs.sorryMethod.tunnel) && plainTunnel(vs.method.tunnel))) ss.tunnel = vs.sorryMethod.tunnel;
      if (vs.sorryInhibit) ss.inhibit = true;
      spec.sorryServer = ss;
    }
  } else if (vs.sorryInhibit) {
    warn(vs.sorryInhibit, 'sorry_server_inhibit without sorry_server; ignored');
  }
  const realServers: Record<string, unknown>[] = [];
  const rsLines: { line: number; title: string }[] = [];
  const seen = new Set<string>();
  for (const rs of vs.rs) {
    const out = buildRealServer(ctx, vs, rs, key, family, svcPort);
    if (!out) continue;
    const id = `${out.id}`;
    if (seen.has(id)) { warn(rs.node, `real_server ${id} is listed twice in this virtual_server: the duplicate was left out`); continue; }
    seen.add(id);
    realServers.push(out.spec);
    rsLines.push({ line: rs.node.line, title: `real_server ${rs.node.args.map((a) => a.text).join(' ')}` });
  }
  spec.realServers = realServers;
  const head = `virtual_server ${node.args.map((a) => a.text).join(' ')}`;
  const source = key.line !== node.line ? `${head} (group entry at line ${key.line})` : head;
  return { file: node.file, line: node.line, title, source, spec, rsLines };
}

/** The port to write for a server, or undefined for "the service's" (spec §5.2, §7.1). */
function serverPort(key: VsKey, fwd: string, port: number | undefined, svcPort: number): number | undefined {
  if (fwd === 'droute' || fwd === 'tunnel') return undefined; // keepalived programs the VS port (fwmark: 0)
  if (port === undefined || (key.kind === 'addr' && port === svcPort)) return undefined;
  return port;
}

function buildRealServer(
  ctx: ReadCtx, vs: VsState, rs: RsState, key: VsKey, family: AddressFamily, svcPort: number,
): { id: string; spec: Record<string, unknown> } | undefined {
  const warn = (m: string) => ctx.diag.add(rs.node.file, rs.node.line, 'warning', m);
  const m = rs.method ?? vs.method;
  const text = formatIp(rs.addr);
  if (rs.addr.family !== family && m.forwarding !== 'tunnel') {
    warn(`real_server ${text} is ${famName(rs.addr.family)} but the service is ${famName(family)}: skipped, as keepalived does`);
    return undefined;
  }
  const out: Record<string, unknown> = { address: text };
  const port = serverPort(key, m.forwarding, rs.port, svcPort);
  if (port !== undefined) out.port = port;
  const effPort = port ?? (m.forwarding === 'droute' || m.forwarding === 'tunnel' || rs.port === undefined ? svcPort : rs.port);
  if ((m.forwarding === 'droute' || m.forwarding === 'tunnel') && rs.port !== undefined && rs.port !== svcPort) {
    ctx.diag.add(rs.node.file, rs.node.line, 'note', `real_server port ${rs.port}: ${m.forwarding === 'droute' ? 'DR' : 'TUN'} uses the service port${key.kind === 'fwmark' ? ' (0 for fwmark)' : ` ${svcPort}`}, as keepalived programs it; the checks still connect to ${rs.port}`);
  }
  const weight = rs.weight ?? vs.defaultWeight;
  if (weight !== undefined) out.weight = weight;
  if (rs.method) out.forwarding = rs.method.forwarding;
  if (rs.method?.tunnel && !(plainTunnel(rs.method.tunnel) && plainTunnel(vs.method.tunnel))) out.tunnel = rs.method.tunnel;
  if (rs.uth !== undefined) out.upperThreshold = rs.uth;
  if (rs.lth !== undefined) {
    if (rs.uth !== undefined && rs.uth > 0 && rs.lth > rs.uth) warn(`lthreshold ${rs.lth} is above uthreshold ${rs.uth}: lthreshold left out`);
    else out.lowerThreshold = rs.lth;
  }
  if (Object.keys(rs.health).length) out.health = { ...rs.health };
  if (rs.notifyUp) out.notifyUp = rs.notifyUp;
  if (rs.notifyDown) out.notifyDown = rs.notifyDown;
  const checks: CheckOut[] = [];
  for (const { node, check } of rs.checks) {
    const c = { ...check };
    // Checkers connect to the configured real server port even where IPVS gets another one.
    if (c.type !== 'exec' && c.connectPort === undefined && rs.port !== undefined && rs.port !== effPort) c.connectPort = rs.port;
    if (c.type !== 'exec' && c.connectPort === undefined && effPort === 0) {
      ctx.diag.add(node.file, node.line, 'warning', `${node.keyword} has no port to connect to (real server without a port): the check was left out; set connect_port`);
      continue;
    }
    checks.push(c);
  }
  if (checks.length) out.checks = checks;
  return { id: formatEndpoint(rs.addr, effPort), spec: out };
}

function familyFromServers(vs: VsState): AddressFamily | undefined {
  const fams = new Set<AddressFamily>();
  for (const rs of vs.rs) if ((rs.method ?? vs.method).forwarding !== 'tunnel') fams.add(rs.addr.family);
  if (vs.sorry && (vs.sorryMethod ?? vs.method).forwarding !== 'tunnel') fams.add(vs.sorry.addr.family);
  if (fams.size === 1) return [...fams][0];
  const all = new Set(vs.rs.map((r) => r.addr.family));
  return all.size === 1 ? [...all][0] : undefined;
}

function netmaskFits(mask: string | number, family: AddressFamily): boolean {
  if (family === 4) {
    const m = typeof mask === 'string' ? parseIpv4(mask) : undefined;
    return m !== undefined && maskPrefixLength(m) !== undefined;
  }
  return typeof mask === 'number' && mask >= 1 && mask <= 128;
}
