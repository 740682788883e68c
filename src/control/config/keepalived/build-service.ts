// keepalived virtual_server → tsvs.yaml service, once virtual-server.ts has read the block: the
// rules keepalived applies when it programs IPVS (spec §7.1, §7.2): NAT by default, persistence
// 360 s when the timeout has no value or the port is 0, DR/TUN real servers on the service port,
// OPS only for UDP, sh-/mh- flags only with their scheduler, hysteresis forced below quorum.
import { formatEndpoint, formatIp } from '../../../core/net/addr.js';
import type { AddressFamily } from '../../../core/net/addr.js';
import type { CheckOut } from './checks.js';
import type { KaNode } from './parser.js';
import type { ReadCtx } from './values.js';
import { famName, netmaskExpected, netmaskFits } from '../netmask.js';
import type { Method, RsState, ServiceOut, VsKey, VsState } from './virtual-server.js';

/** True for the ipvsadm default tunnel (ipip, no options), which needs no YAML. */
function plainTunnel(t: Method['tunnel']): boolean {
  return t === undefined || (t.type === 'ipip' && t.port === undefined && t.csum === undefined);
}


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
      else warn(persistence.netmaskNode ?? node, `persistence_granularity: ${persistence.netmask} is not ${netmaskExpected(family)} for this ${famName(family)} service; ignored`);
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

