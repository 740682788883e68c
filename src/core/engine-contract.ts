// The contract between the pure engine and the packet data plane: one call per received frame,
// answered by filling a reusable Verdict (no allocation per packet), plus the facts about the
// director's own interfaces and neighbours that the engine needs and cannot look up itself.
import type { IpAddress } from './net/addr.js';

/** What to do with a frame. */
export const enum VerdictKind {
  /** Send `out` (the rewritten frame) on `ifIndex`. */
  Forward = 1,
  /** Not for tsvs: let the kernel have it. */
  Local = 2,
  /** Drop it; `dropReason` names why (also counted by the engine). */
  Drop = 3,
  /** Send `out` (a frame tsvs generated: ARP reply, ICMP error) on `ifIndex`; the input is dropped. */
  Reply = 4,
}

/** Filled by Engine.process; reuse one per worker. */
export interface Verdict {
  kind: VerdictKind;
  /** Egress interface for Forward/Reply. */
  ifIndex: number;
  /** The frame to send: a view of either the input buffer (rewritten in place) or the engine's own buffer. */
  out: Uint8Array;
  /** Length of the frame to send. */
  outLength: number;
  /** Why a Drop happened (a stable name from the engine's drop-reason list). */
  dropReason: string;
  /** The connection entry a Forward belongs to (-1: none, or not a client → VIP packet). */
  conn: number;
  /**
   * The conn's later packets may bypass the engine (a kernel fast path forwards them and the plane
   * reports their counts with Ipvs.offloadCredit): established TCP or UDP, IPv4, direct routing.
   */
  offloadable: boolean;
}

/** A new empty verdict. */
export function newVerdict(): Verdict {
  return { kind: VerdictKind.Local, ifIndex: 0, out: new Uint8Array(0), outLength: 0, dropReason: '', conn: -1, offloadable: false };
}

/** One of the director's interfaces. */
export interface InterfaceInfo {
  readonly ifIndex: number;
  readonly name: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** The director's own addresses on this interface (used as tunnel outer source, full-NAT pool default...). */
  readonly addrs: readonly IpAddress[];
}

/** Where to send a packet for `dst`: the interface and the next hop's MAC. */
export interface NextHop {
  readonly ifIndex: number;
  readonly mac: Uint8Array;
  /** The source address to use on that path (tunnel outer source). */
  readonly src: IpAddress;
  readonly mtu: number;
}

/** The data plane's knowledge of the network, injected into the engine. */
export interface NetContext {
  interfaces(): readonly InterfaceInfo[];
  /**
   * The next hop toward `dst` (routing + neighbour cache), or undefined when there is none: the
   * engine drops with reason 'no-neighbour'. While the MAC is being resolved (ARP/NDP), a data
   * plane that holds frames returns the hop with a placeholder MAC and holds what the engine
   * forwards there (the packet plane: held-frames.ts); one that does not returns undefined.
   */
  nextHop(dst: IpAddress): NextHop | undefined;
  /** True when `addr` is one of the director's own addresses. */
  isLocal(addr: IpAddress): boolean;
}

/** The engine as the packet plane sees it. */
export interface FrameEngine {
  /** Decides about one frame (`frame[0..length)`) received on `ifIndex`, filling `v`. Never throws. */
  process(frame: Uint8Array, length: number, ifIndex: number, v: Verdict): void;
  /** Advances timers (connection expiry, estimator); call every ~100 ms. */
  tick(): void;
}
