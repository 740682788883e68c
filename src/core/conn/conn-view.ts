// Read-only views of connection entries for listings (ipvsadm -Lc, /proc/net/ip_vs_conn, REST,
// sync): built on demand from the slab, so they allocate — control path only (spec §5.5).
import { type Endpoint, type IpAddress, ipv4FromU32 } from '../net/addr.js';
import type { Destination } from '../service/destination.js';
import type { ForwardMethod } from '../service/types.js';
import {
  CF_FWD_MASK, CF_TEMPLATE, CF_USED, CF_V6, CTPL_S_ASSURED,
  IPPROTO_IP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
} from './conn-flags.js';
import type { ConnTable } from './conn-table.js';
import { SCTP_STATE_NAMES } from './sctp-state.js';
import { TCP_STATE_NAMES } from './tcp-state.js';
import { UDP_STATE_NAMES } from './udp-state.js';

/** One entry as listings show it. */
export interface ConnEntry {
  /** Slot id, stable for the life of the entry. */
  readonly id: number;
  /** "TCP", "UDP", "SCTP", "IP" (fwmark templates) or "IP_<n>", as ip_vs_proto_name prints. */
  readonly protocol: string;
  readonly family: 4 | 6;
  readonly client: Endpoint;
  /** The virtual address and port; a fwmark template shows the mark as an address and port 0. */
  readonly virtual: Endpoint;
  /** The real server and the port the conn forwards to (0.0.0.0:0 for bypass conns). */
  readonly dest: Endpoint;
  /** Full NAT: the director's local (SNAT) endpoint. */
  readonly local: Endpoint | undefined;
  /** State name: TCP/SCTP state, "UDP", or "NONE"/"ASSURED" for templates. */
  readonly state: string;
  readonly stateIndex: number;
  /** Remaining time in ms (0 when due) and in whole seconds as /proc rounds it. */
  readonly expiresMs: number;
  readonly expiresS: number;
  /** The conn's current timeout (what a packet re-arms it to), ms. */
  readonly timeoutMs: number;
  /** Kernel flag bits (spec §2.3, up to NFCT), without tsvs-internal bits. */
  readonly flags: number;
  readonly method: ForwardMethod | 'bypass';
  readonly template: boolean;
  readonly assured: boolean;
  /** Id of the controlling template, or -1. */
  readonly controlledBy: number;
  /** How many conns this one controls. */
  readonly controls: number;
  readonly inPkts: number;
  readonly fwmark: number;
  readonly destination: Destination | undefined;
}

const METHODS: readonly (ForwardMethod | 'bypass')[] = ['masq', 'local', 'tunnel', 'droute', 'bypass', 'fullnat', 'masq', 'masq'];

/** ip_vs_proto_name. */
export function protoName(proto: number): string {
  switch (proto) {
    case IPPROTO_IP: return 'IP';
    case IPPROTO_TCP: return 'TCP';
    case IPPROTO_UDP: return 'UDP';
    case IPPROTO_SCTP: return 'SCTP';
    default: return `IP_${proto}`;
  }
}

/** The state name of an entry (ip_vs_state_name / ip_vs_ctpl_state_name_table). */
export function stateName(t: ConnTable, slot: number): string {
  const st = t.state(slot);
  if (t.flags(slot) & CF_TEMPLATE) return st & CTPL_S_ASSURED ? 'ASSURED' : 'NONE';
  switch (t.proto(slot)) {
    case IPPROTO_TCP: return TCP_STATE_NAMES[st] ?? 'ERR!';
    case IPPROTO_UDP: return UDP_STATE_NAMES[st] ?? 'ERR!';
    case IPPROTO_SCTP: return SCTP_STATE_NAMES[st] ?? 'ERR!';
    default: return 'NONE';
  }
}

function v6At(t: ConnTable, slot: number, which: 0 | 1): IpAddress {
  const bytes = new Uint8Array(16);
  t.copyAddr6(slot, which, bytes);
  return { family: 6, bytes };
}

/** Builds the view of a used slot, or undefined. */
export function connEntry(t: ConnTable, slot: number, nowMs: number): ConnEntry | undefined {
  if (slot < 0 || slot >= t.highWater || (t.flags(slot) & CF_USED) === 0) return undefined;
  const f = t.flags(slot);
  const v6 = (f & CF_V6) !== 0;
  const caddr = v6 ? v6At(t, slot, 0) : ipv4FromU32(t.caddr(slot));
  const vaddr = v6 ? v6At(t, slot, 1) : ipv4FromU32(t.vaddr(slot));
  const dest = t.destOf(slot);
  const daddr: IpAddress = dest ? dest.addr : { family: v6 ? 6 : 4, bytes: new Uint8Array(v6 ? 16 : 4) };
  const method = METHODS[f & CF_FWD_MASK];
  const remaining = t.wheel.isArmed(slot) ? Math.max(0, t.expiresMs(slot) - nowMs) : 0;
  const local = method === 'fullnat' && t.localAddrs[t.lidx(slot)]
    ? { addr: t.localAddrs[t.lidx(slot)], port: t.lport(slot) } : undefined;
  return {
    id: slot,
    protocol: protoName(t.proto(slot)),
    family: v6 ? 6 : 4,
    client: { addr: caddr, port: t.cport(slot) },
    virtual: { addr: vaddr, port: t.vport(slot) },
    dest: { addr: daddr, port: t.dport(slot) },
    local,
    state: stateName(t, slot),
    stateIndex: t.state(slot),
    expiresMs: remaining,
    expiresS: Math.floor(remaining / 1000),
    timeoutMs: t.timeout(slot),
    flags: f & 0x1ffff,
    method,
    template: (f & CF_TEMPLATE) !== 0,
    assured: (f & CF_TEMPLATE) !== 0 && (t.state(slot) & CTPL_S_ASSURED) !== 0,
    controlledBy: t.control(slot),
    controls: t.nControl(slot),
    inPkts: t.inPkts(slot),
    fwmark: t.fwmark(slot),
    destination: dest,
  };
}
