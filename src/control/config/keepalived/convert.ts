// `tsvs import keepalived`: keepalived.conf → tsvs.yaml. The LVS side converts (virtual_server,
// virtual_server_group, real_server, checkers; global_defs lvs_timeouts); everything else (VRRP,
// static addresses, BFD, ...) is reported with its line as not supported yet, and the rest still
// converts. The output is checked with the tsvs loader: a service the loader would refuse is left
// out with a warning, so the YAML returned always loads.
import { Document, isMap } from 'yaml';
import { parseIp } from '../../../core/net/addr.js';
import type { AddressFamily, IpAddress } from '../../../core/net/addr.js';
import { ConfigError, formatIssue, loadConfigText } from '../load.js';
import type { Config } from '../schema.js';
import { Diagnostics, KeepalivedError, formatDiagnostic } from './diagnostics.js';
import type { KaDiagnostic } from './diagnostics.js';
import { fsIncludeHost, lexKeepalived, noIncludeHost } from './lexer.js';
import type { IncludeHost } from './lexer.js';
import { parseKeepalived } from './parser.js';
import type { KaNode } from './parser.js';
import { expectArgs, readInt } from './values.js';
import type { ReadCtx } from './values.js';
import { buildService } from './build-service.js';
import { readVirtualServer } from './virtual-server.js';
import type { ServiceOut, VsKey } from './virtual-server.js';

/** The result of an import. */
export interface KeepalivedImport {
  /** tsvs.yaml text, with comments naming the source lines; loadConfigText accepts it. */
  readonly yaml: string;
  /** The same configuration, loaded. */
  readonly config: Config;
  readonly diagnostics: readonly KaDiagnostic[];
  /** The diagnostics formatted as "line N: ...". */
  readonly messages: readonly string[];
}

export { KeepalivedError, formatDiagnostic };
export type { KaDiagnostic, IncludeHost };

/** Top-level blocks tsvs does not handle, with the reason shown to the operator. */
const UNSUPPORTED_TOP: Record<string, string> = {
  vrrp_instance: 'tsvs has no VRRP; keep keepalived (VRRP only) or another failover for the VIPs',
  vrrp_sync_group: 'tsvs has no VRRP',
  vrrp_script: 'tsvs has no VRRP',
  vrrp_track_process: 'tsvs has no VRRP',
  track_file: 'tsvs has no VRRP or FILE_CHECK',
  vrrp_track_file: 'tsvs has no VRRP or FILE_CHECK',
  track_process: 'tsvs has no VRRP',
  static_ipaddress: 'tsvs does not manage interface addresses',
  static_routes: 'tsvs does not manage routes',
  static_rules: 'tsvs does not manage routing rules',
  static_track_group: 'tsvs has no VRRP',
  bfd_instance: 'tsvs has no BFD',
  SSL: 'client certificates for SSL_GET checks are not supported yet; https checks verify nothing and present no certificate',
  linkbeat_interfaces: 'keepalived process setting with no tsvs equivalent',
  interface_up_down_delays: 'keepalived process setting with no tsvs equivalent',
  garp_group: 'tsvs has no VRRP',
  net_namespace: 'run tsvs inside the namespace instead',
  net_namespace_ipvs: 'run tsvs inside the namespace instead',
  namespace_with_ipsets: 'keepalived process setting with no tsvs equivalent',
  instance: 'keepalived process setting with no tsvs equivalent',
  use_pid_dir: 'keepalived process setting with no tsvs equivalent',
  linkbeat_use_polling: 'keepalived process setting with no tsvs equivalent',
  child_wait_time: 'keepalived process setting with no tsvs equivalent',
};

const MAX_RANGE = 256;
const MAX_SERVICES = 4096;

/** Converts a keepalived.conf on disk (includes relative to it). */
export function importKeepalivedFile(path: string, host: IncludeHost = fsIncludeHost): KeepalivedImport {
  let text: string;
  try {
    text = host.readFile(path);
  } catch (e) {
    throw new KeepalivedError(path, 0, `cannot read the file: ${(e as Error).message}`);
  }
  return importKeepalivedText(text, path, host);
}

/** Converts keepalived.conf text; `fileName` anchors messages and relative includes. */
export function importKeepalivedText(text: string, fileName: string, host: IncludeHost = noIncludeHost): KeepalivedImport {
  const diag = new Diagnostics();
  const ctx: ReadCtx = { diag };
  const tree = parseKeepalived(lexKeepalived(text, fileName, host, diag));
  const groups = new Map<string, { node: KaNode; keys: VsKey[] }>();
  for (const n of tree) if (n.keyword === 'virtual_server_group') readGroup(ctx, n, groups);

  let timeouts: Record<string, number> | undefined;
  const services: ServiceOut[] = [];
  const seen = new Map<string, number>();
  for (const n of tree) {
    switch (n.keyword) {
      case 'global_defs': timeouts = readGlobalDefs(ctx, n) ?? timeouts; break;
      case 'virtual_server_group': break;
      case 'virtual_server': convertVirtualServer(ctx, n, groups, services, seen); break;
      default:
        diag.unsupported(n.file, n.line, n.keyword, UNSUPPORTED_TOP[n.keyword] ?? 'unknown keyword');
    }
  }
  return finish(fileName, diag, timeouts, services);
}

function readGlobalDefs(ctx: ReadCtx, node: KaNode): Record<string, number> | undefined {
  let timeouts: Record<string, number> | undefined;
  for (const opt of node.block ?? []) {
    switch (opt.keyword) {
      case 'lvs_timeouts': {
        const t: Record<string, number> = {};
        for (let i = 0; i < opt.args.length; i += 2) {
          const name = opt.args[i].text;
          if (name !== 'tcp' && name !== 'tcpfin' && name !== 'udp') {
            ctx.diag.add(opt.file, opt.line, 'warning', `lvs_timeouts: ${JSON.stringify(name)} is not tcp, tcpfin or udp; ignored`);
            continue;
          }
          const v = readInt(ctx, opt, i + 1, 1, 2147483);
          if (v !== undefined) t[name] = v;
        }
        if (Object.keys(t).length) {
          timeouts = t;
          ctx.diag.add(opt.file, opt.line, 'note', 'lvs_timeouts: timeouts not given take tsvs\'s defaults (tcp 900, tcpfin 120, udp 300), where keepalived leaves them unchanged');
        }
        break;
      }
      case 'lvs_flush':
        ctx.diag.add(opt.file, opt.line, 'note', 'lvs_flush: tsvs always programs its table from the configuration; nothing to convert');
        break;
      case 'lvs_flush_on_stop':
        ctx.diag.unsupported(opt.file, opt.line, 'lvs_flush_on_stop', 'the table lives in the tsvs daemon and goes away with it');
        break;
      case 'lvs_sync_daemon':
        ctx.diag.unsupported(opt.file, opt.line, 'lvs_sync_daemon', 'connection synchronization is not configured through tsvs.yaml');
        break;
      default:
        ctx.diag.unsupported(opt.file, opt.line, `global_defs ${opt.keyword}`, 'a keepalived daemon, VRRP or e-mail setting with no tsvs equivalent');
    }
  }
  return timeouts;
}

/** virtual_server_group NAME { IP [PORT]; IP-range [PORT]; fwmark N [inet|inet6] }. */
function readGroup(ctx: ReadCtx, node: KaNode, groups: Map<string, { node: KaNode; keys: VsKey[] }>): void {
  if (!expectArgs(ctx, node, 1, 1)) return;
  const name = node.args[0].text;
  if (groups.has(name)) ctx.diag.add(node.file, node.line, 'warning', `virtual_server_group ${name} is defined again: this definition replaces the earlier one`);
  const keys: VsKey[] = [];
  for (const e of node.block ?? []) {
    if (e.block) { ctx.diag.add(e.file, e.line, 'warning', `${e.keyword}: a group entry takes no block; ignored`); continue; }
    if (e.keyword === 'fwmark') {
      if (!expectArgs(ctx, e, 1, 2)) continue;
      const mark = readInt(ctx, e, 0, 1, 4294967295);
      if (mark === undefined) continue;
      const fam = e.args[1]?.text;
      if (fam !== undefined && fam !== 'inet' && fam !== 'inet6') { ctx.diag.add(e.file, e.line, 'warning', `fwmark: ${JSON.stringify(fam)} is not inet or inet6; ignored`); continue; }
      keys.push({ kind: 'fwmark', fwmark: mark, family: fam === undefined ? undefined : fam === 'inet' ? 4 : 6, line: e.line });
      continue;
    }
    if (e.args.length > 1) { ctx.diag.add(e.file, e.line, 'warning', `${e.keyword}: an entry is an address or range and an optional port; ignored`); continue; }
    let port = 0;
    if (e.args.length === 1) {
      const p = readInt(ctx, e, 0, 0, 65535);
      if (p === undefined) continue;
      port = p;
    }
    const addrs = expandRange(e.keyword);
    if (typeof addrs === 'string') { ctx.diag.add(e.file, e.line, 'warning', `${e.keyword}: ${addrs}; ignored`); continue; }
    for (const addr of addrs) keys.push({ kind: 'addr', addr, port, line: e.line });
  }
  if (keys.length === 0) ctx.diag.add(node.file, node.line, 'warning', `virtual_server_group ${name} has no entries`);
  groups.set(name, { node, keys });
}

/** Addresses of "10.0.0.1", "10.0.0.1-10", "10.0.0.250-10.0.1.5", "10.0.0.8/29" (IPv6 alike, hex ends). */
export function expandRange(text: string): IpAddress[] | string {
  const one = parseIp(text);
  if (one) return [one];
  let first: IpAddress | undefined;
  let last: bigint;
  const slash = text.indexOf('/');
  const dash = text.indexOf('-');
  if (slash !== -1) {
    first = parseIp(text.slice(0, slash));
    const len = text.slice(slash + 1);
    if (!first || !/^[0-9]{1,3}$/.test(len) || Number(len) > first.bytes.length * 8) return 'not an address, range or CIDR';
    const hostBits = BigInt(first.bytes.length * 8 - Number(len));
    const base = (toBig(first) >> hostBits) << hostBits;
    first = fromBig(base, first.family);
    last = base + (1n << hostBits) - 1n;
  } else if (dash !== -1) {
    first = parseIp(text.slice(0, dash));
    const endText = text.slice(dash + 1);
    if (!first) return 'not an address, range or CIDR';
    const full = parseIp(endText);
    if (full) {
      if (full.family !== first.family) return 'the range mixes IPv4 and IPv6';
      last = toBig(full);
    } else {
      const v4 = first.family === 4;
      if (!(v4 ? /^[0-9]{1,3}$/ : /^[0-9a-fA-F]{1,4}$/).test(endText)) return 'not an address, range or CIDR';
      const end = parseInt(endText, v4 ? 10 : 16);
      if (v4 && end > 255) return 'the range end is above 255';
      const bits = v4 ? 8n : 16n;
      last = ((toBig(first) >> bits) << bits) + BigInt(end);
    }
  } else {
    return 'not an address, range or CIDR';
  }
  const start = toBig(first);
  if (last < start) return 'the range ends below its start';
  if (last - start + 1n > BigInt(MAX_RANGE)) return `the range has more than ${MAX_RANGE} addresses (tsvs makes one service per address)`;
  const out: IpAddress[] = [];
  for (let v = start; v <= last; v++) out.push(fromBig(v, first.family));
  return out;
}

function toBig(a: IpAddress): bigint {
  let v = 0n;
  for (const b of a.bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBig(v: bigint, family: AddressFamily): IpAddress {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--) { bytes[i] = Number(v & 0xffn); v >>= 8n; }
  return { family, bytes };
}

function convertVirtualServer(
  ctx: ReadCtx, n: KaNode, groups: Map<string, { node: KaNode; keys: VsKey[] }>, services: ServiceOut[], seen: Map<string, number>,
): void {
  const head = n.args.map((a) => a.text);
  const warn = (m: string) => ctx.diag.add(n.file, n.line, 'warning', m);
  if (!n.block) { warn(`virtual_server ${head.join(' ')} has no block: left out`); return; }
  let keys: VsKey[];
  let base: string | undefined;
  if (head[0] === 'group') {
    const g = head.length === 2 ? groups.get(head[1]) : undefined;
    if (!g) { warn(`virtual_server group ${head[1] ?? ''}: no such virtual_server_group; left out`); return; }
    keys = g.keys;
    base = head[1];
  } else if (head[0] === 'fwmark') {
    const mark = head.length === 2 ? readInt(ctx, n, 1, 1, 4294967295) : undefined;
    if (mark === undefined) { warn('virtual_server fwmark needs one mark 1..4294967295; left out'); return; }
    keys = [{ kind: 'fwmark', fwmark: mark, line: n.line }];
  } else {
    const addr = head.length >= 1 && head.length <= 2 ? parseIp(head[0]) : undefined;
    const port = head.length === 2 ? (/^[0-9]{1,5}$/.test(head[1]) && Number(head[1]) <= 65535 ? Number(head[1]) : undefined) : 0;
    if (!addr || port === undefined) { warn(`virtual_server ${head.join(' ')}: expected <IP> [<PORT>], fwmark <N> or group <NAME>; left out`); return; }
    keys = [{ kind: 'addr', addr, port, line: n.line }];
  }
  const vs = readVirtualServer(ctx, n);
  base = vs.name ?? base;
  keys.forEach((key, i) => {
    const name = base === undefined ? undefined : keys.length > 1 ? `${base}-${i + 1}` : base;
    const svc = buildService(ctx, n, vs, key, name);
    const id = svc.title;
    const prev = seen.get(id);
    if (prev !== undefined) { warn(`${id} is already defined by the virtual_server at line ${prev}: left out`); return; }
    if (services.length >= MAX_SERVICES) { warn(`more than ${MAX_SERVICES} services: ${id} left out`); return; }
    seen.set(id, n.line);
    services.push(svc);
  });
}

/** Writes the YAML, checks it with the loader, and leaves out any service it refuses. */
function finish(fileName: string, diag: Diagnostics, timeouts: Record<string, number> | undefined, services: ServiceOut[]): KeepalivedImport {
  let current = services;
  for (let attempt = 0; attempt < 3; attempt++) {
    const yaml = emit(fileName, diag, timeouts, current);
    try {
      const config = loadConfigText(yaml, 'imported.yaml');
      const items = diag.sorted();
      return { yaml, config, diagnostics: items, messages: items.map((d) => formatDiagnostic(d, fileName)) };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const bad = new Map<number, string>();
      for (const issue of e.issues) {
        const m = /^services\[(\d+)\]/.exec(issue.path);
        if (m) { if (!bad.has(Number(m[1]))) bad.set(Number(m[1]), formatIssue({ ...issue, file: '', line: 0 }).replace(/^: /, '')); }
        else if (issue.path.startsWith('timeouts')) timeouts = undefined;
        else throw new KeepalivedError(fileName, 0, `the converted configuration does not load: ${formatIssue(issue)}`);
      }
      for (const [i, why] of bad) {
        const s = current[i];
        diag.add(s.file, s.line, 'warning', `${s.title} was left out: tsvs refuses it (${why})`);
      }
      current = current.filter((_, i) => !bad.has(i));
    }
  }
  throw new KeepalivedError(fileName, 0, 'the converted configuration does not load');
}

function emit(fileName: string, diag: Diagnostics, timeouts: Record<string, number> | undefined, services: readonly ServiceOut[]): string {
  const obj: Record<string, unknown> = {};
  if (timeouts) obj.timeouts = timeouts;
  obj.services = services.map((s) => s.spec);
  const doc = new Document(obj);
  const header = [
    ` tsvs.yaml converted by \`tsvs import keepalived\` from ${fileName}.`,
    ' keepalived runs the kernel\'s IPVS: for droute/tunnel real servers use the packet dataplane',
    ' (dataplane: { kind: packet, interfaces: [...] }); see docs/config.md.',
  ];
  const items = diag.sorted();
  if (items.length) {
    header.push('', ` ${items.length} remark(s):`);
    for (const d of items) header.push(`   ${d.severity}: ${formatDiagnostic(d, fileName)}`);
  }
  doc.commentBefore = header.join('\n');
  services.forEach((s, i) => {
    const node = doc.getIn(['services', i], true);
    if (isMap(node)) node.commentBefore = ` ${s.file === fileName ? '' : `${s.file} `}line ${s.line}: ${s.source} → ${s.title}`;
    s.rsLines.forEach((r, j) => {
      const rn = doc.getIn(['services', i, 'realServers', j], true);
      if (isMap(rn)) rn.commentBefore = ` line ${r.line}: ${r.title}`;
    });
  });
  return doc.toString({ lineWidth: 0 });
}
