// `ipvsadm -L` / `-l` output, byte for byte (list_all, list_service, print_title,
// print_service_entry; spec §5.3, §5.4): the default layout and the --stats, --rate, --thresholds,
// --persistent-conn and --tun-info variants, -n, --exact and --nosort.
import type { Destination } from '../../core/service/destination.js';
import { SVC_F_ONEPACKET, SVC_F_SCHED_MASK } from '../../core/service/types.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import { cInt, cUint, padLeft, padRight } from './cstr.js';
import { type NameOptions, destName, fwdName, largenum, maskText, schedFlagsText, serviceName } from './names.js';
import { NUMERIC_RESOLVER, type NameResolver } from './resolver.js';
import { listDestOrder, listServiceOrder } from './sort.js';
import { type RatesView, ZERO_RATES } from './views.js';

/** IP_VS_VERSION_CODE 0x010201. */
export const IPVS_VERSION = '1.2.1';
/** The kernel's default connection hash table size (ip_vs_conn_tab_size, 2^12). */
export const DEFAULT_CONN_TAB_SIZE = 4096;

/** The format switches of `-L` (the -n/--exact/--nosort and view-style flags of ListOptions). */
export interface ListFormat {
  readonly numeric: boolean;
  readonly exact: boolean;
  readonly nosort: boolean;
  readonly stats: boolean;
  readonly rate: boolean;
  readonly thresholds: boolean;
  readonly persistentConn: boolean;
  readonly tunInfo: boolean;
}

/** Data sources and settings besides the services themselves. */
export interface ListContext {
  /** Names for addresses and ports when not numeric (default: none, numbers are printed). */
  readonly resolver?: NameResolver;
  /** Rate estimates for --rate (default: all zero). */
  readonly ratesOf?: RatesView;
  /** The size shown in the version line (default 4096). */
  readonly connTabSize?: number;
}

/** `IP Virtual Server version 1.2.1 (size=4096)` with its newline. */
export function versionLine(connTabSize = DEFAULT_CONN_TAB_SIZE): string {
  return `IP Virtual Server version ${IPVS_VERSION} (size=${connTabSize})\n`;
}

/** print_title for the listing (nothing for -S). */
export function listTitle(f: ListFormat): string {
  const prot = padRight('Prot LocalAddress:Port', 33);
  const remote = '  -> RemoteAddress:Port\n';
  const cols = (names: string[], w: number, left: boolean) => names.map((n) => (left ? padRight(n, w) : padLeft(n, w))).join(' ');
  if (f.stats) return `${prot} ${cols(['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'], 8, false)}\n${remote}`;
  if (f.rate) return `${prot} ${cols(['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'], 8, false)}\n${remote}`;
  if (f.thresholds) return `${prot} ${cols(['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn'], 10, true)}\n${remote}`;
  if (f.persistentConn) {
    return `${prot} ${padRight('Weight', 9)} ${padRight('PersistConn', 11)} ${padRight('ActiveConn', 10)} ${padRight('InActConn', 10)}\n${remote}`;
  }
  if (f.tunInfo) {
    return 'Prot LocalAddress:Port Scheduler Flags\n'
      + '  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
  }
  return 'Prot LocalAddress:Port Scheduler Flags\n'
    + '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
}

/** fwd_tun_info: "ipip", "gue:PORT:-c|+c|r+c", "gre:-c|+c", or "n/a" for non-tunnel destinations. */
export function tunInfo(d: Destination): string {
  if (d.method !== 'tunnel') return 'n/a';
  const csum = d.tunCsum === 'nocsum' ? '-c' : d.tunCsum === 'csum' ? '+c' : 'r+c';
  if (d.tunType === 'ipip') return 'ipip';
  if (d.tunType === 'gue') return `gue:${d.tunPort}:${csum}`;
  return `gre:${csum}`;
}

function serviceLine(svc: VirtualService, f: ListFormat, names: NameOptions, ctx: ListContext): string {
  const name = serviceName(svc, false, names);
  if (f.stats) {
    const s = svc.stats.snapshot();
    return padRight(name, 33) + [s.conns, s.inPkts, s.outPkts, s.inBytes, s.outBytes].map((v) => largenum(v, f.exact)).join('');
  }
  if (f.rate) {
    const r = (ctx.ratesOf ?? (() => ZERO_RATES))(svc);
    return padRight(name, 33) + [r.cps, r.inpps, r.outpps, r.inbps, r.outbps].map((v) => largenum(v, f.exact)).join('');
  }
  let line = `${name} ${svc.scheduler}`;
  if (svc.flags & SVC_F_SCHED_MASK) line += ` (${schedFlagsText(svc)})`;
  if (svc.isPersistent) {
    line += ` persistent ${cUint(svc.timeoutS)}`;
    const mask = maskText(svc);
    if (mask !== undefined) line += ` mask ${mask}`;
    if (svc.pe) line += ` pe ${svc.pe}`;
  }
  if (svc.flags & SVC_F_ONEPACKET) line += ' ops';
  return line;
}

function destLine(svc: VirtualService, d: Destination, f: ListFormat, names: NameOptions, ctx: ListContext): string {
  const dn = destName(svc, d, false, names);
  const head = `  -> ${padRight(dn, 28)}`;
  const u = (v: number, w: number) => padRight(String(cUint(v)), w);
  if (f.stats) {
    const s = d.stats.snapshot();
    return head + [s.conns, s.inPkts, s.outPkts, s.inBytes, s.outBytes].map((v) => largenum(v, f.exact)).join('');
  }
  if (f.rate) {
    const r = (ctx.ratesOf ?? (() => ZERO_RATES))(d);
    return `${head} ${padLeft(String(r.cps), 8)} ${padLeft(String(r.inpps), 8)} ${padLeft(String(r.outpps), 8)}`
      + largenum(r.inbps, f.exact) + largenum(r.outbps, f.exact);
  }
  if (f.thresholds) return `${head} ${u(d.uThreshold, 10)} ${u(d.lThreshold, 10)} ${u(d.activeConns, 10)} ${u(d.inactConns, 10)}`;
  if (f.persistentConn) return `${head} ${u(d.weight, 9)} ${u(d.persistConns, 11)} ${u(d.activeConns, 10)} ${u(d.inactConns, 10)}`;
  const weight = padRight(String(cInt(d.weight)), 6);
  if (f.tunInfo) {
    return `${head} ${padRight(fwdName(d.method), 7)} ${padRight(tunInfo(d), 13)} ${weight} ${u(d.activeConns, 10)} ${u(d.inactConns, 10)}`;
  }
  return `${head} ${padRight(fwdName(d.method), 7)} ${weight} ${u(d.activeConns, 10)} ${u(d.inactConns, 10)}`;
}

/** print_service_entry: the service line and its destination lines. */
export function serviceEntry(svc: VirtualService, f: ListFormat, ctx: ListContext = {}): string {
  const names: NameOptions = { numeric: f.numeric, resolver: ctx.resolver ?? NUMERIC_RESOLVER };
  let out = serviceLine(svc, f, names, ctx) + '\n';
  for (const d of listDestOrder(svc, f.nosort)) out += destLine(svc, d, f, names, ctx) + '\n';
  return out;
}

/** list_all: `ipvsadm -L [options]` for a whole table (services as ServiceTable.services() gives them). */
export function formatList(services: readonly VirtualService[], f: ListFormat, ctx: ListContext = {}): string {
  let out = versionLine(ctx.connTabSize) + listTitle(f);
  for (const svc of listServiceOrder(services, f.nosort)) out += serviceEntry(svc, f, ctx);
  return out;
}

/** list_service: `ipvsadm -L -t|-u|-f svc [options]` — the title and one entry, no version line. */
export function formatListService(svc: VirtualService, f: ListFormat, ctx: ListContext = {}): string {
  return listTitle(f) + serviceEntry(svc, f, ctx);
}
