// The forwarding worker's neighbour cache: IP -> MAC per interface, seeded from the kernel's table
// (`ip -j neigh`, refreshed by the main thread) and completed by what the worker learns from the
// ARP replies and neighbour advertisements it sees. A miss asks for active resolution, rate limited
// per address and overall so a scan toward unknown next hops cannot flood the link.
import { type IpAddress, formatIp, ipKey, ipv4ToU32, parseIp } from '../../core/net/addr.js';
import { parseMac } from '../../core/packet/ethernet.js';

/** One neighbour entry. */
export interface Neighbour {
  readonly addr: IpAddress;
  readonly ifIndex: number;
  readonly mac: Uint8Array;
  /** 'kernel' (from ip neigh) or 'learned' (from ARP/NDP seen by the worker). */
  readonly source: 'kernel' | 'learned';
  /** When it was last confirmed (ms on the worker's clock). */
  seenMs: number;
}

/** A neighbour as the main thread reports it from `ip -j neigh`. */
export interface NeighbourFact {
  readonly addr: IpAddress;
  readonly ifIndex: number;
  readonly mac: Uint8Array;
}

/** Kernel NUD states whose lladdr can be used. */
const USABLE = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

/** Parses `ip -j neigh` output into usable neighbours (interface names resolved by `ifIndexOf`). */
export function parseIpNeigh(json: unknown, ifIndexOf: (name: string) => number | undefined): NeighbourFact[] {
  if (!Array.isArray(json)) throw new Error('Cannot read ip -j neigh output as it is not a JSON array');
  const out: NeighbourFact[] = [];
  for (const e of json as Array<Record<string, unknown>>) {
    const dst = typeof e.dst === 'string' ? parseIp(e.dst) : undefined;
    const mac = typeof e.lladdr === 'string' ? parseMac(e.lladdr) : undefined;
    const ifIndex = typeof e.dev === 'string' ? ifIndexOf(e.dev) : undefined;
    const states = Array.isArray(e.state) ? (e.state as unknown[]).map(String) : [];
    if (!dst || !mac || ifIndex === undefined || !states.some((s) => USABLE.has(s))) continue;
    out.push({ addr: dst, ifIndex, mac });
  }
  return out;
}

/** Limits of active resolution. */
export interface ResolveLimits {
  /** Minimum ms between two requests for one address. */
  readonly perAddressMs: number;
  /** Requests per second over all addresses. */
  readonly perSecond: number;
  /** Learned entries not confirmed for this long are forgotten. */
  readonly learnedTtlMs: number;
}

export const DEFAULT_RESOLVE_LIMITS: ResolveLimits = { perAddressMs: 1000, perSecond: 50, learnedTtlMs: 300_000 };

/** A pending resolution: ask for `addr` on `ifIndex`. */
export interface ResolveRequest {
  readonly addr: IpAddress;
  readonly ifIndex: number;
}

/** IP -> neighbour for both families; IPv4 keyed by its 32-bit value (no string per lookup). */
export class NeighbourCache {
  private readonly v4 = new Map<number, Neighbour>();
  private readonly v6 = new Map<string, Neighbour>();
  private readonly lastAsk = new Map<string, number>();
  private readonly queue: ResolveRequest[] = [];
  private budget: number;
  private budgetAtMs = 0;
  /** Bumped on every change, so users can drop their derived caches. */
  version = 0;
  /** Resolution requests refused by the rate limits. */
  limited = 0;
  /** Told about every entry learned from the wire (the plane shares them between workers). */
  onLearn: ((n: Neighbour) => void) | undefined;

  constructor(private readonly limits: ResolveLimits = DEFAULT_RESOLVE_LIMITS) {
    this.budget = limits.perSecond;
  }

  /** The neighbour for `addr` (on any interface), or undefined. */
  get(addr: IpAddress): Neighbour | undefined {
    return addr.family === 4 ? this.v4.get(ipv4ToU32(addr)) : this.v6.get(ipKey(addr));
  }

  /** Number of entries. */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /** Replaces the kernel-sourced entries with `facts`; learned entries stay unless the kernel knows better. */
  seed(facts: readonly NeighbourFact[], nowMs: number): void {
    for (const m of [this.v4, this.v6] as Array<Map<number | string, Neighbour>>) {
      for (const [k, n] of m) if (n.source === 'kernel') m.delete(k);
    }
    for (const f of facts) this.put({ addr: f.addr, ifIndex: f.ifIndex, mac: f.mac, source: 'kernel', seenMs: nowMs });
    this.version++;
  }

  /**
   * Records what an ARP/NDP frame told us. Like the kernel, an unsolicited announcement only
   * updates an address we already know or asked for; `solicited` answers always count.
   */
  learn(addr: IpAddress, ifIndex: number, mac: Uint8Array, nowMs: number, solicited: boolean): boolean {
    const cur = this.get(addr);
    const key = ipKey(addr);
    if (!cur && !solicited && !this.lastAsk.has(key)) return false;
    if (cur && cur.ifIndex === ifIndex && macEquals(cur.mac, mac)) {
      cur.seenMs = nowMs;
      return false;
    }
    const n: Neighbour = { addr, ifIndex, mac: mac.slice(0, 6), source: 'learned', seenMs: nowMs };
    this.put(n);
    this.lastAsk.delete(key);
    this.version++;
    this.onLearn?.(n);
    return true;
  }

  private put(n: Neighbour): void {
    if (n.addr.family === 4) this.v4.set(ipv4ToU32(n.addr), n);
    else this.v6.set(ipKey(n.addr), n);
  }

  /**
   * Asks for active resolution of `addr` on `ifIndex`, subject to the rate limits; true when queued.
   * `key` is ipKey(addr), given by a caller that has it (nextHop asks for every frame toward a
   * neighbour being resolved).
   */
  request(addr: IpAddress, ifIndex: number, nowMs: number, key = ipKey(addr)): boolean {
    const last = this.lastAsk.get(key);
    if (last !== undefined && nowMs - last < this.limits.perAddressMs) return false;
    if (nowMs - this.budgetAtMs >= 1000) {
      this.budget = this.limits.perSecond;
      this.budgetAtMs = nowMs;
    }
    if (this.budget <= 0) {
      this.limited++;
      return false;
    }
    this.budget--;
    this.lastAsk.set(key, nowMs);
    this.queue.push({ addr, ifIndex });
    return true;
  }

  /** Takes the queued resolution requests. */
  drain(): ResolveRequest[] {
    return this.queue.splice(0, this.queue.length);
  }

  /** Forgets learned entries older than the TTL and stale resolution records. */
  expire(nowMs: number): void {
    let changed = false;
    for (const m of [this.v4, this.v6] as Array<Map<number | string, Neighbour>>) {
      for (const [k, n] of m) {
        if (n.source === 'learned' && nowMs - n.seenMs > this.limits.learnedTtlMs) {
          m.delete(k);
          changed = true;
        }
      }
    }
    for (const [k, t] of this.lastAsk) if (nowMs - t > 60_000) this.lastAsk.delete(k);
    if (changed) this.version++;
  }

  /** Entries for display and tests. */
  list(): Array<{ addr: string; ifIndex: number; mac: string; source: string }> {
    const out = [];
    for (const n of [...this.v4.values(), ...this.v6.values()]) {
      out.push({ addr: formatIp(n.addr), ifIndex: n.ifIndex, mac: Array.from(n.mac, (b) => b.toString(16).padStart(2, '0')).join(':'), source: n.source });
    }
    return out;
  }
}

/** True when two MACs are equal. */
export function macEquals(a: Uint8Array, b: Uint8Array, bOff = 0): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[bOff + i]) return false;
  return true;
}
