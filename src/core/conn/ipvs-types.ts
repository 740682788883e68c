// The contract between the connection layer and its callers (engine, simulator, proxy plane):
// packet metadata in, verdicts out. Result objects are reused by the Ipvs instance — read them
// before the next call; nothing is allocated per packet.
import type { IpAddress } from '../net/addr.js';
import type { Destination } from '../service/destination.js';
import type { ForwardMethod, Protocol } from '../service/types.js';
import type { VirtualService } from '../service/virtual-service.js';

/** One packet, already parsed (callers reuse one object). */
export interface PacketMeta {
  protocol: Protocol;
  saddr: IpAddress;
  sport: number;
  daddr: IpAddress;
  dport: number;
  /** FIN=0x01 SYN=0x02 RST=0x04 ACK=0x10; 0 for non-TCP. */
  tcpFlags: number;
  /** First SCTP chunk type (INIT=1, ABORT=6, …); 0 otherwise. */
  sctpChunk: number;
  /** skb->mark (firewall mark) for fwmark services; 0 when none. */
  fwmark: number;
  /** IP packet bytes, for the byte counters (for ICMP-related calls: the ICMP packet's length). */
  length: number;
}

/** Why a packet was dropped; each is counted in Ipvs.drops. */
export type DropReason =
  /** The conn's destination was deleted and expire_nodest_conn=0: dropped silently (spec §2.9). */
  | 'dest-unavailable'
  /** A conn to reschedule holds a confirmed conntrack (conntrack=1): the client retries (spec §2.9). */
  | 'old-conntrack'
  /** drop_packet defense (spec §2.10). */
  | 'defense-drop-packet'
  /** The table is at maxConns and nothing could be evicted. */
  | 'table-full'
  /** Full NAT: no free local port toward that server. */
  | 'fullnat-no-port'
  /** An ICMP error could not be scheduled (schedule_icmp=1, no destination). */
  | 'icmp-no-dest'
  /** No destination for a new conn: the caller answers ICMP port unreachable and drops (spec §2.6). */
  | 'no-dest';

/** Every drop reason, for counters and metrics. */
export const DROP_REASONS: readonly DropReason[] = [
  'dest-unavailable', 'old-conntrack', 'defense-drop-packet', 'table-full', 'fullnat-no-port', 'icmp-no-dest', 'no-dest',
];

/** Forward a client packet to a real server. */
export interface InForward {
  kind: 'forward';
  /** Connection id (slot in Ipvs.conns); a one-packet (OPS) conn is already freed when this is returned. */
  conn: number;
  dest: Destination;
  /** This packet created the conn. */
  isNew: boolean;
  method: ForwardMethod;
  /** The port to send to (may differ from dest.port for port-0 and fwmark services). */
  dport: number;
  /** Full NAT: the source endpoint to rewrite the client to; undefined otherwise. */
  localAddr: IpAddress | undefined;
  localPort: number;
}

/** Not for a virtual service (or a packet that must not create a conn): hand it to the local stack. */
export interface Pass { kind: 'pass' }
/** Drop, with the counted reason. */
export interface Drop { kind: 'drop'; reason: DropReason }
/** The service has no destination for this new conn: send ICMP port unreachable, drop. */
export interface NoDest { kind: 'no-dest'; svc: VirtualService }
/** cache_bypass: forward unchanged to the packet's original destination (spec §2.6). */
export interface Bypass { kind: 'bypass'; conn: number; isNew: boolean }

export type InResult = InForward | Pass | Drop | NoDest | Bypass;

/** A real server's reply for a NAT or full-NAT conn: rewrite and send to the client. */
export interface OutForward {
  kind: 'forward';
  conn: number;
  dest: Destination | undefined;
  method: ForwardMethod;
  /** The new source: the virtual address and port. Scratch object, valid until the next call. */
  vaddr: IpAddress;
  vport: number;
  /** The client (full NAT rewrites the destination back to it). Scratch object. */
  caddr: IpAddress;
  cport: number;
}

/** nat_icmp_send: no conn for a reply from a real service: send ICMP port unreachable to the server, drop. */
export interface Unreachable { kind: 'unreachable' }

export type OutResult = OutForward | Pass | Unreachable | Drop;
