// How many upstream UDP sockets the proxy plane may hold at once. A UDP session keeps its own
// socket toward the real server for the udp timeout (300 s by default, spec §2.6), so a resolver
// sending each query from a fresh source port (DNS does) holds rate x 300 sockets: 100 queries a
// second exhaust a 20,000-descriptor limit in under four minutes, and then TCP services of the
// same process cannot accept either. The kernel's connection entries cost no descriptor; the
// proxy's do, so it bounds them and, at the bound, lets the idlest session go first (what
// conntrack's early drop and IPVS's drop_entry defense do with their tables under pressure).
import { readFileSync } from 'node:fs';

/** A listener whose sessions hold sockets of the budget. */
export interface SocketHolder {
  /** Sockets its sessions hold now (kept by the budget's take and give). */
  socketsHeld: number;
  /** Closes its idlest session with a socket (never `keep`'s); false when it has none. */
  evictIdlest(keep: unknown): boolean;
}

/** A count of sockets shared by every UDP listener of a plane. */
export class UdpSocketBudget {
  used = 0;
  private readonly holders = new Set<SocketHolder>();

  constructor(readonly limit: number) {}

  /** Takes one socket for `h`; false when none is left. */
  take(h: SocketHolder): boolean {
    if (this.used >= this.limit) return false;
    this.used++;
    h.socketsHeld++;
    return true;
  }

  /** `h` closed a socket it took. */
  give(h: SocketHolder): void {
    this.used--;
    h.socketsHeld--;
  }

  join(h: SocketHolder): void { this.holders.add(h); }
  leave(h: SocketHolder): void { this.holders.delete(h); }

  /**
   * Frees a socket for a new session of `keep`: the listener holding the most sockets gives up its
   * idlest session, so a service flooded with fresh clients (DNS) evicts its own sessions and cannot
   * shut a quieter service out. True when a socket was freed.
   */
  reclaim(keep: unknown): boolean {
    // Under DNS load this runs for every new session: find the top holder without allocating.
    let most: SocketHolder | undefined;
    for (const h of this.holders) if (h.socketsHeld > 0 && (!most || h.socketsHeld > most.socketsHeld)) most = h;
    if (!most) return false;
    if (most.evictIdlest(keep)) return true;
    // Only `keep` holds its sockets: the others, most first.
    const rest = [...this.holders].filter((h) => h !== most && h.socketsHeld > 0).sort((a, b) => b.socketsHeld - a.socketsHeld);
    return rest.some((h) => h.evictIdlest(keep));
  }
}

/** Half the process's descriptor limit (the rest is for TCP, listeners and Node), at least 64. */
export function defaultUdpSocketLimit(limitsText = readLimits()): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limitsText);
  const soft = m === null ? 4096 : m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
  return Math.max(64, Math.floor(soft / 2));
}

function readLimits(): string {
  try { return readFileSync('/proc/self/limits', 'utf8'); } catch { return ''; }
}
