// `ipvsadm -L -c` (list_conn / print_conn; spec §5.5): the connection entries as ipvsadm renders
// them from /proc/net/ip_vs_conn, with or without -n and --persistent-conn.
import { padRight } from './cstr.js';
import { NUMERIC_RESOLVER, type NameProto, type NameResolver, addrPortName } from './resolver.js';
import type { ConnEntryView } from './views.js';

/** Options of the connection listing. */
export interface ConnListOptions {
  readonly numeric: boolean;
  /** --persistent-conn: adds the "pe name" and "pe_data" columns. */
  readonly persistentConn: boolean;
  readonly resolver?: NameResolver;
}

/** The protocol print_conn resolves port names with: TCP/UDP/SCTP, none for the rest. */
function connProto(protocol: string): NameProto {
  return protocol === 'TCP' ? 'tcp' : protocol === 'UDP' ? 'udp' : protocol === 'SCTP' ? 'sctp' : 'ip';
}

/** The "MM:SS" expire column (minutes are not capped at 99). */
export function expireText(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds)) >>> 0;
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The header lines of the listing. */
export function connListHeader(persistentConn: boolean): string {
  if (persistentConn) {
    return 'IPVS connection entries\n'
      + `pro expire ${padRight('state', 11)} ${padRight('source', 18)} ${padRight('virtual', 18)} ${padRight('destination', 18)} ${padRight('pe name', 16)} pe_data\n`;
  }
  return `IPVS connection entries\npro expire ${padRight('state', 11)} ${padRight('source', 18)} ${padRight('virtual', 18)} destination\n`;
}

/** One row of the listing. The pe columns appear only with --persistent-conn and pe data. */
export function connRow(c: ConnEntryView, opts: ConnListOptions): string {
  const proto = connProto(c.protocol);
  const resolver = opts.resolver ?? NUMERIC_RESOLVER;
  const name = (e: ConnEntryView['client']) => addrPortName(e.addr, e.port, proto, opts.numeric, resolver);
  const head = `${padRight(c.protocol, 3)} ${padRight(expireText(c.expiresS), 6)} ${padRight(c.stateName, 11)} `
    + `${padRight(name(c.client), 18)} ${padRight(name(c.virtual), 18)} `;
  if (opts.persistentConn && c.peName && c.peData) {
    return `${head}${padRight(name(c.dest), 16)} ${padRight(c.peName, 18)} ${c.peData}\n`;
  }
  return `${head}${name(c.dest)}\n`;
}

/** `ipvsadm -L -c [-n] [--persistent-conn]`: the entries in the kernel's (given) order. */
export function formatConnections(entries: readonly ConnEntryView[], opts: ConnListOptions): string {
  return connListHeader(opts.persistentConn) + entries.map((c) => connRow(c, opts)).join('');
}
