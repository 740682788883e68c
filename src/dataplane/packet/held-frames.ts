// Frames waiting for a next hop's MAC (docs/adr/0003-packet-plane.md, "Neighbours"). The kernel
// queues packets while it resolves a neighbour (unres_qlen); dropping them instead cost every first
// connection to a new neighbour a SYN retransmission, one second. The engine forwards as usual
// toward a hop whose MAC is still UNRESOLVED_MAC (net-context.ts); the forwarder holds the frame
// here, and sends it once ARP/NDP (or the kernel's table) names the MAC. Bounded: a few frames per
// neighbour, a few neighbours, for as long as the kernel would try (3 s); the rest are dropped and
// counted. Copies are made only while a neighbour is being resolved, never on the forwarding path.
import type { IpAddress } from '../../core/net/addr.js';
import type { PendingHop } from './net-context.js';

/** The destination MAC a frame toward an unresolved next hop carries until it is held. */
export const UNRESOLVED_MAC = new Uint8Array(6);
/** Frames held per neighbour, and neighbours at once. */
export const HOLD_PER_NEIGHBOUR = 16;
export const HOLD_NEIGHBOURS = 64;
/** How long a neighbour's frames wait (the kernel's three solicitations, a second apart). */
export const HOLD_MS = 3000;

/** Where learned MACs are found (NeighbourCache; the narrower shape lets the tests give just these). */
export interface NeighbourLookup {
  get(addr: IpAddress): { readonly ifIndex: number; readonly mac: Uint8Array } | undefined;
}

interface Waiting {
  readonly addr: IpAddress;
  readonly ifIndex: number;
  readonly sinceMs: number;
  readonly frames: Uint8Array[];
}

/**
 * Frames held; of those, sent; and frames dropped: refused (no room) or held too long. The engine
 * counted every one of them as forwarded (its connection's InPkts too), as IPVS counts a packet
 * the kernel's neighbour queue later drops.
 */
export interface HeldCounters {
  held: number;
  released: number;
  dropped: number;
}

export class HeldFrames {
  private readonly waiting = new Map<string, Waiting>();
  readonly counters: HeldCounters = { held: 0, released: 0, dropped: 0 };

  /** Number of neighbours with frames waiting. */
  get size(): number {
    return this.waiting.size;
  }

  /** Keeps a copy of `frame` until the hop's neighbour is resolved; false (dropped) when full. */
  hold(hop: PendingHop, frame: Uint8Array, nowMs: number): boolean {
    let w = this.waiting.get(hop.key);
    if (!w) {
      if (this.waiting.size >= HOLD_NEIGHBOURS) return this.drop(1);
      w = { addr: hop.via, ifIndex: hop.ifIndex, sinceMs: nowMs, frames: [] };
      this.waiting.set(hop.key, w);
    }
    if (w.frames.length >= HOLD_PER_NEIGHBOUR) return this.drop(1);
    w.frames.push(frame.slice());
    this.counters.held++;
    return true;
  }

  /**
   * Hands each waiting frame whose neighbour `neighbours` now knows (on its interface) to `send`,
   * with that MAC written in as its destination; drops those that waited longer than HOLD_MS.
   */
  release(neighbours: NeighbourLookup, send: (frame: Uint8Array, ifIndex: number) => void, nowMs: number): void {
    for (const [key, w] of this.waiting) {
      const n = neighbours.get(w.addr);
      const mac = n !== undefined && n.ifIndex === w.ifIndex ? n.mac : undefined;
      if (mac) {
        this.waiting.delete(key);
        for (const f of w.frames) {
          f.set(mac.subarray(0, 6), 0);
          send(f, w.ifIndex);
        }
        this.counters.released += w.frames.length;
      } else if (nowMs - w.sinceMs > HOLD_MS) {
        this.waiting.delete(key);
        this.drop(w.frames.length);
      }
    }
  }

  private drop(n: number): false {
    this.counters.dropped += n;
    return false;
  }
}

/** True when the frame at `off` is addressed to UNRESOLVED_MAC (all zeros: no real frame is). */
export function awaitsNeighbour(u8: Uint8Array, off: number): boolean {
  return (u8[off] | u8[off + 1] | u8[off + 2] | u8[off + 3] | u8[off + 4] | u8[off + 5]) === 0;
}
