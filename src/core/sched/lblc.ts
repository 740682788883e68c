// lblc — Locality-Based Least-Connection (ip_vs_lblc.c, spec §1 lblc), and the per-service
// cache table with its garbage collection that lblcr shares (ip_vs_lblcr.c uses the same code).
// The kernel runs the GC from a 60 s timer; the core has no timers, so schedule() runs every GC
// pass that came due since the last call, each at its own due time, before it looks anything up.
// As nothing touches the table between passes, this gives exactly the kernel's results.
import type { Clock } from '../clock.js';
import type { IpAddress } from '../net/addr.js';
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import { foldForFamily, hash32 } from './hash.js';
import type { FlowInfo, Scheduler, SchedulerFactory } from './scheduler.js';
import { wlcPick } from './wlc.js';

/** CONFIG_IP_VS_LBLC_TAB_BITS (and LBLCR): 1024 buckets. */
export const LBLC_TAB_BITS = 10;
/** Number of lblc/lblcr buckets. */
export const LBLC_TAB_SIZE = 1 << LBLC_TAB_BITS;
const LBLC_TAB_MASK = LBLC_TAB_SIZE - 1;
/** tbl->max_size = TAB_SIZE * 16. */
export const LBLC_MAX_SIZE = LBLC_TAB_SIZE * 16;
/** CHECK_EXPIRE_INTERVAL: the GC period. */
export const CHECK_EXPIRE_INTERVAL_MS = 60_000;
/** ENTRY_TIMEOUT: idle time after which the over-size GC may drop an entry. */
export const ENTRY_TIMEOUT_MS = 6 * 60_000;
/** Every 30th GC pass is a full expiration check. */
export const COUNT_FOR_FULL_EXPIRATION = 30;

/** What a cache entry holds at least: the packet destination address and its last use. */
export interface LocalityEntry {
  readonly addr: IpAddress;
  /** ms on the scheduler's clock. */
  lastuse: number;
}

/**
 * The kernel's lblc/lblcr hash table: entries keyed by destination address in 1024 buckets
 * (hash_32(ntohl(addr_fold), 10)), with the rover/counter state of the periodic GC.
 */
export class LocalityTable<E extends LocalityEntry> {
  private readonly buckets: E[][] = Array.from({ length: LBLC_TAB_SIZE }, () => []);
  /** Number of entries (tbl->entries). */
  size = 0;
  /** Bucket where the last GC scan stopped (tbl->rover). */
  rover = 0;
  /** GC passes since the last full check, from 1 (tbl->counter). */
  counter = 1;
  /** When the next GC pass is due (ms). */
  nextCheckMs: number;

  constructor(
    private readonly family: 4 | 6,
    private readonly clock: Clock,
    private readonly expirationMs: () => number,
  ) {
    this.nextCheckMs = clock.nowMs() + CHECK_EXPIRE_INTERVAL_MS;
  }

  private bucketOf(addr: IpAddress): number {
    return hash32(foldForFamily(this.family, addr.bytes), LBLC_TAB_BITS);
  }

  /** The entry for a destination address (ip_vs_lblc_get). */
  get(addr: IpAddress): E | undefined {
    const b = this.buckets[this.bucketOf(addr)];
    for (let i = 0; i < b.length; i++) {
      const e = b[i];
      if (sameAddr(e.addr, addr)) return e;
    }
    return undefined;
  }

  /** Adds an entry whose address is not in the table yet. */
  insert(e: E): void {
    this.buckets[this.bucketOf(e.addr)].push(e);
    this.size++;
  }

  /** Every entry (for inspection and tests). */
  *entries(): IterableIterator<E> {
    for (const b of this.buckets) yield* b;
  }

  /** Drops every entry (done_service's flush). */
  clear(): void {
    for (const b of this.buckets) b.length = 0;
    this.size = 0;
  }

  /** Runs the GC passes due by now, each as if its timer had fired on time. */
  runDue(): void {
    const now = this.clock.nowMs();
    while (this.nextCheckMs <= now) {
      // Passes that only count (no full check, table within max_size) change nothing else:
      // skip them in one step.
      if (this.counter % COUNT_FOR_FULL_EXPIRATION !== 0 && this.size <= LBLC_MAX_SIZE) {
        const due = Math.floor((now - this.nextCheckMs) / CHECK_EXPIRE_INTERVAL_MS) + 1;
        const steps = Math.min(due, COUNT_FOR_FULL_EXPIRATION - this.counter);
        this.counter += steps;
        this.nextCheckMs += steps * CHECK_EXPIRE_INTERVAL_MS;
        continue;
      }
      this.checkExpire(this.nextCheckMs);
      this.nextCheckMs += CHECK_EXPIRE_INTERVAL_MS;
    }
  }

  /** One GC pass at time t (ip_vs_lblc_check_expire). */
  private checkExpire(t: number): void {
    if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      // Full check: drop every entry idle for at least the expiration sysctl.
      const exp = this.expirationMs();
      this.sweep((e) => t >= e.lastuse + exp, Infinity);
      this.counter = 1;
      return;
    }
    if (this.size <= LBLC_MAX_SIZE) {
      this.counter++;
      return;
    }
    // Over max_size: drop entries idle for ENTRY_TIMEOUT, bucket by bucket from the rover, until
    // (entries - max_size) * 4/3 are gone (at most max_size / 2); counter is not advanced.
    let goal = Math.trunc(((this.size - LBLC_MAX_SIZE) * 4) / 3);
    if (goal > LBLC_MAX_SIZE / 2) goal = LBLC_MAX_SIZE / 2;
    this.sweep((e) => t >= e.lastuse + ENTRY_TIMEOUT_MS, goal);
  }

  /** Scans buckets rover+1, rover+2, ... dropping matching entries; stops after a bucket once `goal` are dropped. */
  private sweep(expired: (e: E) => boolean, goal: number): void {
    let j = this.rover;
    for (let i = 0; i < LBLC_TAB_SIZE; i++) {
      j = (j + 1) & LBLC_TAB_MASK;
      const b = this.buckets[j];
      let keep = 0;
      for (let k = 0; k < b.length; k++) {
        const e = b[k];
        if (expired(e)) {
          this.size--;
          goal--;
        } else {
          b[keep++] = e;
        }
      }
      b.length = keep;
      if (goal <= 0) break;
    }
    this.rover = j;
  }
}

function sameAddr(a: IpAddress, b: IpAddress): boolean {
  if (a.family !== b.family) return false;
  const x = a.bytes;
  const y = b.bytes;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** A private copy of an address (flow addresses may live in reused packet buffers). */
export function copyAddr(a: IpAddress): IpAddress {
  return { family: a.family, bytes: a.bytes.slice() };
}

/**
 * The lblc/lblcr local overload test (is_overloaded): the destination has more active
 * connections than its weight while some destination of the service is below half of its
 * weight (spec §1 lblc).
 */
export function localOverloaded(dest: Destination, svc: VirtualService): boolean {
  if (dest.activeConns <= dest.weight) return false;
  for (const d of svc.destinations) if (d.activeConns * 2 < d.weight) return true;
  return false;
}

/** An lblc cache entry: destination address -> destination. */
export interface LblcEntry extends LocalityEntry {
  dest: Destination;
}

/** The lblc state: the cache table (exposed for inspection and tests). */
export class LocalityBasedLeastConnection implements Scheduler {
  readonly name = 'lblc';
  readonly table: LocalityTable<LblcEntry>;

  constructor(svc: VirtualService, private readonly clock: Clock, expirationS: () => number) {
    this.table = new LocalityTable<LblcEntry>(svc.family, clock, () => expirationS() * 1000);
  }

  schedule(svc: VirtualService, flow: FlowInfo): Destination | undefined {
    this.table.runDue();
    const now = this.clock.nowMs();
    const en = this.table.get(flow.dstAddr);
    if (en !== undefined) {
      en.lastuse = now;
      const d = en.dest;
      // Deviation on purpose: the kernel does not test OVERLOAD on a cache hit; tsvs does, so
      // that u_threshold holds for lblc too (spec §1: every scheduler skips OVERLOAD).
      if (d.isAvailable && d.weight > 0 && !d.isSkipped && !localOverloaded(d, svc)) return d;
    }
    // No usable cache entry: weighted least-connection over the service, then remember it.
    const dest = wlcPick(svc.destinations);
    if (dest === undefined) return undefined;
    if (en !== undefined) en.dest = dest;
    else this.table.insert({ addr: copyAddr(flow.dstAddr), dest, lastuse: now });
    return dest;
  }

  dispose(): void {
    this.table.clear();
  }
}

/** Locality-Based Least-Connection keyed by the packet's destination address (spec §1 lblc). */
export const lblcScheduler: SchedulerFactory = {
  name: 'lblc',
  create: (svc, env) => new LocalityBasedLeastConnection(svc, env.clock, () => env.lblcExpirationS),
};
