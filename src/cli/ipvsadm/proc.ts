// The kernel's /proc views of IPVS, byte for byte (ip_vs_ctl.c ip_vs_info_seq_show and
// ip_vs_stats_show, ip_vs_conn.c ip_vs_conn_seq_show and ip_vs_conn_sync_seq_show; spec §5.5, §8):
// what node_exporter and other tools parse. Addresses and ports are uppercase hex, IPv6 is the
// uncompressed %pI6 form, the persistence timeout is in jiffies.
import { type Endpoint, formatIpv6Full, ipv4ToU32 } from '../../core/net/addr.js';
import { SVC_F_ONEPACKET } from '../../core/service/types.js';
import type { StatsSnapshot } from '../../core/stats/counters.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import { cInt, hexUpper, padLeft, padRight } from './cstr.js';
import { DEFAULT_CONN_TAB_SIZE, versionLine } from './format-list.js';
import { fwdName } from './names.js';
import { kernelServiceOrder } from './sort.js';
import type { ConnEntryView, Rates } from './views.js';

/** The HZ tsvs reports jiffies with unless told otherwise (a common distribution kernel value). */
export const DEFAULT_HZ = 250;

/** Settings of /proc/net/ip_vs. */
export interface ProcIpVsOptions {
  /** Jiffies per second for the persistence timeout column (default 250). */
  readonly hz?: number;
  /** The size shown in the version line (default 4096). */
  readonly connTabSize?: number;
}

/**
 * The netmask column: ntohl of the stored value. For IPv4 that is the mask; for IPv6 the kernel
 * stores the prefix length in host order in a __be32, so a little-endian host prints it byte-swapped
 * (/128 shows as 80000000).
 */
function procNetmask(svc: VirtualService): string {
  if (svc.family === 4) return hexUpper(svc.netmask >>> 0, 8);
  const v = svc.netmask >>> 0;
  const swapped = (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
  return hexUpper(swapped, 8);
}

/** `/proc/net/ip_vs`: services in the kernel's order, destinations newest first. */
export function formatProcIpVs(services: readonly VirtualService[], opts: ProcIpVsOptions = {}): string {
  const hz = opts.hz ?? DEFAULT_HZ;
  let out = versionLine(opts.connTabSize ?? DEFAULT_CONN_TAB_SIZE)
    + 'Prot LocalAddress:Port Scheduler Flags\n'
    + '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n';
  for (const svc of kernelServiceOrder(services)) {
    const k = svc.key;
    const ops = svc.flags & SVC_F_ONEPACKET ? 'ops ' : '';
    if (k.kind === 'fwmark') out += `FWM  ${hexUpper(k.fwmark >>> 0, 8)} ${svc.scheduler} ${ops}`;
    else if (k.addr.family === 6) out += `${k.protocol.toUpperCase()}  [${formatIpv6Full(k.addr)}]:${hexUpper(k.port, 4)} ${svc.scheduler} `;
    else out += `${k.protocol.toUpperCase()}  ${hexUpper(ipv4ToU32(k.addr), 8)}:${hexUpper(k.port, 4)} ${svc.scheduler} ${ops} `;
    out += svc.isPersistent ? `persistent ${cInt(svc.timeoutS * hz)} ${procNetmask(svc)}\n` : '\n';
    for (const d of svc.destinations) {
      const addr = d.addr.family === 6 ? `[${formatIpv6Full(d.addr)}]` : hexUpper(ipv4ToU32(d.addr), 8);
      out += `  -> ${addr}:${hexUpper(d.port, 4)}      ${padRight(fwdName(d.method), 7)} ${padRight(String(cInt(d.weight)), 6)} `
        + `${padRight(String(cInt(d.activeConns)), 10)} ${padRight(String(cInt(d.inactConns)), 10)}\n`;
    }
  }
  return out;
}

/** `/proc/net/ip_vs_stats`: the totals since the last zeroing and the total rates, in hex. */
export function formatProcIpVsStats(totals: StatsSnapshot, rates: Rates): string {
  const h = (v: number, w: number) => padLeft(hexUpper(v, 1), w);
  return '   Total Incoming Outgoing         Incoming         Outgoing\n'
    + '   Conns  Packets  Packets            Bytes            Bytes\n'
    + `${h(totals.conns, 8)} ${h(totals.inPkts, 8)} ${h(totals.outPkts, 8)} ${h(totals.inBytes, 16)} ${h(totals.outBytes, 16)}\n\n`
    + ' Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n'
    + `${h(rates.cps, 8)} ${h(rates.inpps, 8)} ${h(rates.outpps, 8)} ${h(rates.inbps, 16)} ${h(rates.outbps, 16)}\n`;
}

function procAddr(e: Endpoint): string {
  return e.addr.family === 6 ? formatIpv6Full(e.addr) : hexUpper(ipv4ToU32(e.addr), 8);
}

function procConnPrefix(c: ConnEntryView): string {
  return `${padRight(c.protocol, 3)} ${procAddr(c.client)} ${hexUpper(c.client.port, 4)} ${procAddr(c.virtual)} ${hexUpper(c.virtual.port, 4)} `
    + `${procAddr(c.dest)} ${hexUpper(c.dest.port, 4)} ${padRight(c.stateName, 11)}`;
}

function expires(c: ConnEntryView): string {
  return padLeft(String(Math.max(0, Math.floor(c.expiresS)) >>> 0), 7);
}

/** `/proc/net/ip_vs_conn`: one row per entry, ` <pe> <data>` appended when the entry has pe data. */
export function formatProcIpVsConn(entries: readonly ConnEntryView[]): string {
  let out = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n';
  for (const c of entries) {
    const pe = c.peName && c.peData !== undefined ? ` ${c.peName} ${c.peData}` : '';
    out += `${procConnPrefix(c)} ${expires(c)}${pe}\n`;
  }
  return out;
}

/** `/proc/net/ip_vs_conn_sync`: like ip_vs_conn with an Origin column (LOCAL or SYNC), no pe data. */
export function formatProcIpVsConnSync(entries: readonly ConnEntryView[]): string {
  let out = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires\n';
  for (const c of entries) out += `${procConnPrefix(c)} ${padRight(c.fromSync ? 'SYNC' : 'LOCAL', 6)} ${expires(c)}\n`;
  return out;
}
