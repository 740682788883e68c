// Keeping the kernel away from what tsvs forwards (design "The packet plane"): nftables rules, in
// tables of our own, that drop VIP service traffic, ARP/NDP requests for VIPs and the real servers'
// replies tsvs rewrites (masq, full NAT) on the captured devices. Where they sit depends on how the
// plane receives (ADR 0005, "The tcx hook"):
//  - 'ingress' (ETH_P_ALL taps, the default): one netdev ingress chain per captured device. Taps
//    get their copy before that hook; it also runs before any receive handler or VLAN untagging,
//    so it covers bridge ports, bond slaves and VLAN trunks too.
//  - 'prerouting' (the tc fast path's protocol-bound sockets, which netdev ingress would starve,
//    as it runs before protocol delivery): an inet prerouting chain at priority -500 (before
//    defragmentation, conntrack and routing) and an arp input chain, matched by iifname. The
//    kernel hands the IP/ARP receive path and each bound socket their own reference (ip_rcv and
//    arp_rcv clone a shared skb), so a drop there hides nothing from tsvs.
// Either way the kernel never handles those frames, whatever the operator did (VIP also on lo,
// ip_forward=1). The tables are replaced atomically on every change, deleted on stop, and deleted
// at the next start if a crash left them behind.
import { spawn } from 'node:child_process';
import { type IpAddress, formatIp } from '../../core/net/addr.js';
import type { CaptureMode } from './af-packet.js';
import type { AddrProtoPort } from './service-model.js';

/** Default table name (netdev family, or one inet and one arp table of this name). */
export const DEFAULT_NFT_TABLE = 'tsvs';

/** What must be kept from the kernel, on which devices. */
export interface ExclusionSpec {
  readonly devices: readonly string[];
  /** Service VIP, protocol and port (port 0: every port of that protocol). */
  readonly vipPorts: readonly AddrProtoPort[];
  /** VIP addresses: ARP/NDP requests for them, ICMP errors and non-first fragments to them. */
  readonly vips: readonly IpAddress[];
  /** masq real servers: their replies to anything but a director address. */
  readonly masqReplies: readonly AddrProtoPort[];
  /** full-NAT real servers: their replies to a director address (in the full-NAT port range when given). */
  readonly fullnatReplies: readonly AddrProtoPort[];
  readonly fullnatPorts?: { readonly min: number; readonly max: number };
  /** The director's own addresses. */
  readonly localAddrs: readonly IpAddress[];
}

/** Every family a table of ours may be in (netdev for 'ingress', inet and arp for 'prerouting'). */
const FAMILIES = ['inet', 'arp', 'netdev'] as const;

/** Sets up to this size are matched with one compare rule per element instead of a set lookup. */
export const SMALL_SET = 8;

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
const DEV_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

function els(items: string[]): string {
  return items.length ? ` elements = { ${items.join(', ')} }` : '';
}

function app(x: AddrProtoPort): string {
  return `${formatIp(x.addr)} . ${x.proto} . ${x.port}`;
}

function hex128(a: IpAddress): string {
  return '0x' + Array.from(a.bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Where the exclusion rules sit (see the top of this file). */
export type ExclusionHook = 'ingress' | 'prerouting';

/** The hook that lets the plane's receive sockets see a frame before the kernel drops it. */
export const EXCLUSION_HOOK: Readonly<Record<CaptureMode, ExclusionHook>> = { tap: 'ingress', bound: 'prerouting' };

/** The nft script that (re)creates the tables for `spec` at `hook` in one transaction (removing
 * any table of ours in the other families, so a change of hook leaves nothing behind). */
export function renderRuleset(table: string, spec: ExclusionSpec, hook: ExclusionHook = 'ingress'): string {
  if (!NAME_RE.test(table)) throw new Error(`Cannot use nft table name '${table}': it must match ${NAME_RE}`);
  for (const d of spec.devices) if (!DEV_RE.test(d)) throw new Error(`Cannot install nft rules on device '${d}': not a valid interface name`);
  // Without a device to match, prerouting rules would apply to every interface of the namespace.
  if (hook === 'prerouting' && spec.devices.length === 0) throw new Error('Cannot install nft prerouting rules without devices');
  const fam = <T extends { addr: IpAddress }>(xs: readonly T[], f: 4 | 6) => xs.filter((x) => x.addr.family === f);
  const ipsOf = (xs: readonly IpAddress[], f: 4 | 6) => xs.filter((x) => x.family === f).map(formatIp);
  const sets: string[] = [];
  for (const f of [4, 6] as const) {
    const t = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
    sets.push(`  set svc${f} { type ${t} . inet_proto . inet_service;${els(fam(spec.vipPorts, f).filter((x) => x.port !== 0).map(app))} }`);
    sets.push(`  set vipany${f} { type ${t} . inet_proto;${els(fam(spec.vipPorts, f).filter((x) => x.port === 0).map((x) => `${formatIp(x.addr)} . ${x.proto}`))} }`);
    sets.push(`  set vip${f} { type ${t};${els(ipsOf(spec.vips, f))} }`);
    sets.push(`  set masq${f} { type ${t} . inet_proto . inet_service;${els(fam(spec.masqReplies, f).map(app))} }`);
    sets.push(`  set fnat${f} { type ${t} . inet_proto . inet_service;${els(fam(spec.fullnatReplies, f).map(app))} }`);
    sets.push(`  set local${f} { type ${t};${els(ipsOf(spec.localAddrs, f))} }`);
  }
  const vip4 = ipsOf(spec.vips, 4);
  const arpRule = vip4.length > 0 ? `arp operation request arp daddr ip ${anon(vip4)} drop` : '';
  const ports = spec.fullnatPorts ? ` th dport ${spec.fullnatPorts.min}-${spec.fullnatPorts.max}` : '';
  // Every rule only drops and the policy accepts, so the chain is a union and any order means the
  // same. The order is for cost: every packet to a VIP walks this chain in the softirq of whoever
  // sent it (a CPU the forwarder does not own), so service traffic, the common case, matches first;
  // cheap header tests come before set lookups; rules over empty sets are left out (an empty set
  // never matches; the table is rebuilt whenever a set changes). A concatenated set lookup cost
  // about 0.3 µs per packet here against a few ns per compare (bench/RESULTS-packet.md), so up to
  // SMALL_SET elements become one compare rule each; the sets are still declared, for `nft list`.
  const rules: string[] = [];
  const each = <T>(xs: readonly T[], set: string, one: (x: T) => string) => {
    if (xs.length === 0) return;
    if (xs.length > SMALL_SET) rules.push(set);
    else for (const x of xs) rules.push(one(x));
  };
  for (const f of [4, 6] as const) {
    const ip = f === 4 ? 'ip' : 'ip6';
    const svc = fam(spec.vipPorts, f).filter((x) => x.port !== 0);
    const any = fam(spec.vipPorts, f).filter((x) => x.port === 0);
    const hasVip = spec.vips.some((v) => v.family === f);
    each(svc, `${ip} daddr . meta l4proto . th dport @svc${f} drop`, (x) => `${ip} daddr ${formatIp(x.addr)} meta l4proto ${x.proto} th dport ${x.port} drop`);
    each(any, `${ip} daddr . meta l4proto @vipany${f} drop`, (x) => `${ip} daddr ${formatIp(x.addr)} meta l4proto ${x.proto} drop`);
    if (hasVip && f === 4) {
      // Non-first fragments carry no ports: keep them all from the kernel (the engine decides).
      rules.push('ip frag-off & 0x1fff != 0 ip daddr @vip4 drop');
      rules.push('icmp type { destination-unreachable, source-quench, time-exceeded, parameter-problem } ip daddr @vip4 drop');
      // netdev ingress sees ARP too; with 'prerouting' the rule goes to an arp table of its own.
      if (hook === 'ingress') rules.push(arpRule);
    }
    if (hasVip && f === 6) {
      rules.push('icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } ip6 daddr @vip6 drop');
      for (const v of spec.vips) if (v.family === 6) rules.push(`icmpv6 type nd-neighbor-solicit @th,64,128 ${hex128(v)} drop`);
    }
    each(fam(spec.masqReplies, f), `${ip} saddr . meta l4proto . th sport @masq${f} ${ip} daddr != @local${f} drop`,
      (x) => `${ip} saddr ${formatIp(x.addr)} meta l4proto ${x.proto} th sport ${x.port} ${ip} daddr != @local${f} drop`);
    each(fam(spec.fullnatReplies, f), `${ip} saddr . meta l4proto . th sport @fnat${f} ${ip} daddr @local${f}${ports} drop`,
      (x) => `${ip} saddr ${formatIp(x.addr)} meta l4proto ${x.proto} th sport ${x.port} ${ip} daddr @local${f}${ports} drop`);
  }
  const chain = (name: string, kind: string, body: readonly string[], guard: readonly string[] = []) => [
    `  chain ${name} {`,
    `    type filter hook ${kind} priority -500; policy accept;`,
    ...(body.length > 0 ? [...guard, ...body] : []).map((r) => `    ${r}`),
    '  }',
  ].join('\n');
  if (hook === 'ingress') {
    const chains = spec.devices.map((d, i) => chain(`in${i}`, `ingress device "${d}"`, rules));
    return [...dropTables(table), `table netdev ${table} {`, ...sets, ...chains, '}', ''].join('\n');
  }
  // Both chains see every device of the namespace: the first rule lets the others pass at once.
  const guard = [`iifname != ${anon(spec.devices.map((d) => `"${d}"`))} accept`];
  return [
    ...dropTables(table),
    `table inet ${table} {`, ...sets, chain('pre', 'prerouting', rules, guard), '}',
    `table arp ${table} {`, chain('in', 'input', arpRule ? [arpRule] : [], guard), '}',
    '',
  ].join('\n');
}

/** One element as it is, several as an anonymous set. */
function anon(xs: readonly string[]): string {
  return xs.length === 1 ? xs[0] : `{ ${xs.join(', ')} }`;
}

/** The script lines that delete every table of ours named `table`, in any family, if present. */
function dropTables(table: string): string[] {
  return FAMILIES.flatMap((f) => [`table ${f} ${table} {}`, `delete table ${f} ${table}`]);
}

/** Runs `nft -f -` with `script` on stdin. */
export function runNft(script: string, args: readonly string[] = ['-f', '-']): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('nft', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', (e) => reject(new Error(`Cannot run nft (is the nftables package installed?): ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`nft ${args.join(' ')} failed (exit ${code}): ${err.trim()}`))));
    p.stdin.end(script);
  });
}

/** The installed exclusion table. */
export class NftExclusion {
  private installed = false;
  private last = '';

  constructor(readonly table: string = DEFAULT_NFT_TABLE, readonly hook: ExclusionHook = 'ingress') {}

  /** Installs or atomically replaces the rules (no-op when unchanged). */
  async apply(spec: ExclusionSpec): Promise<void> {
    const script = renderRuleset(this.table, spec, this.hook);
    if (this.installed && script === this.last) return;
    await runNft(script);
    this.installed = true;
    this.last = script;
  }

  /** Removes the table if it exists (also what a start does after a crash). */
  async remove(): Promise<void> {
    await NftExclusion.removeTable(this.table);
    this.installed = false;
    this.last = '';
  }

  /** Deletes our tables named `table` (netdev, inet, arp) if present. */
  static async removeTable(table: string): Promise<void> {
    if (!NAME_RE.test(table)) throw new Error(`Cannot use nft table name '${table}': it must match ${NAME_RE}`);
    await runNft(dropTables(table).join('\n') + '\n');
  }
}
