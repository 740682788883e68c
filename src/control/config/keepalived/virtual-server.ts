// keepalived virtual_server / real_server blocks (spec §7.1): reads each block's keywords into a
// plain state, reporting what is wrong or unsupported where it stands; build-service.ts then turns
// that state into tsvs.yaml services by keepalived's own rules.
import { parseIp } from '../../../core/net/addr.js';
import type { AddressFamily, IpAddress } from '../../../core/net/addr.js';
import { SCHEDULERS } from '../schema.js';
import { isOneOf } from '../schema-values.js';
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

export interface Method {
  forwarding: 'masq' | 'droute' | 'tunnel';
  tunnel?: { type: string; port?: number; csum?: string };
}

export interface RsState {
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

export interface VsState {
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
        if (isOneOf(SCHEDULERS, opt.args[0].text)) vs.scheduler = opt.args[0].text;
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
