// mh — Maglev Hashing (ip_vs_mh.c, spec §1 mh).
import { TsvsError } from '../errors.js';
import type { Destination } from '../service/destination.js';
import { SVC_F_MH_FALLBACK, SVC_F_MH_PORT } from '../service/types.js';
import type { VirtualService } from '../service/virtual-service.js';
import { foldForFamily } from './hash.js';
import { MH_HASH1_KEY, MH_HASH2_KEY, hsiphash32 } from './hsiphash.js';
import { MH_TABLE_PRIMES, type FlowInfo, type Scheduler, type SchedulerFactory } from './scheduler.js';
import { gcd } from './wrr.js';

/** True when n is a prime (trial division; table sizes are small). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
}

/**
 * IP_VS_MH_TAB_BITS for a table size: CONFIG_IP_VS_MH_TAB_INDEX / 2 where the kernel's size is
 * primes[INDEX - 8] (6 for the default 4093). For a size that is not one of the kernel's primes
 * (a tsvs extension) the index of the largest kernel prime below it is used, and 4 below 251.
 */
export function mhTabBits(m: number): number {
  let index = 8;
  for (let i = 0; i < MH_TABLE_PRIMES.length; i++) if (MH_TABLE_PRIMES[i] <= m) index = 8 + i;
  return Math.floor(index / 2);
}

/** Index of the highest set bit, counting from 1 (the kernel's fls; fls(0) = 0). */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

function unavailable(d: Destination): boolean {
  // weight <= 0 or OVERLOAD as in the kernel; !AVAILABLE only matters for a table left stale
  // because the service had more destinations than slots, where the kernel would still pick a
  // deleted destination. tsvs never schedules to a deleted destination.
  return d.weight <= 0 || d.isSkipped || !d.isAvailable;
}

/** The mh state: the lookup table of M slots and the gcd/rshift of the last build. */
export class MaglevHashing implements Scheduler {
  readonly name = 'mh';
  readonly size: number;
  readonly table: (Destination | undefined)[];
  gcd = 0;
  rshift = 0;
  private readonly tabBits: number;

  constructor(svc: VirtualService, size: number) {
    checkMhService(svc, size);
    this.size = size;
    this.tabBits = mhTabBits(size);
    this.table = new Array<Destination | undefined>(size).fill(undefined);
    this.rebuild(svc);
  }

  /** ip_vs_mh_dest_changed: gcd and rshift from last_weight, then permutate and populate (spec §1 mh). */
  rebuild(svc: VirtualService): void {
    const dests = svc.destinations;
    const n = dests.length;
    const m = this.size;
    let g = 0;
    let maxLw = 0;
    for (const d of dests) {
      const lw = d.lastWeight;
      if (lw > 0) g = g > 0 ? gcd(lw, g) : lw;
      if (lw > maxLw) maxLw = lw;
    }
    this.gcd = g;
    this.rshift = g < 1 ? 0 : Math.max(fls(Math.trunc(maxLw / g)) - this.tabBits, 0);
    // More destinations than slots: the kernel returns EINVAL, which add_dest's caller ignores,
    // so the previous table stays.
    if (n > m) return;
    if (g < 1) {
      this.table.fill(undefined);
      return;
    }
    // Permutation: offset and skip from the destination's address fold and port (spec §1 mh).
    const perm = new Array<number>(n);
    const skip = new Array<number>(n);
    const turns = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const d = dests[k];
      const v = (d.port + foldForFamily(svc.family, d.addr.bytes)) >>> 0;
      perm[k] = hsiphash32(MH_HASH1_KEY, v) % m;
      skip[k] = (hsiphash32(MH_HASH2_KEY, v) % (m - 1)) + 1;
      const lw = d.lastWeight;
      turns[k] = (Math.trunc(lw / g) >> this.rshift) || (lw !== 0 ? 1 : 0);
    }
    // Populate: rounds over the list; each destination claims `turns` slots in a row, each its
    // next free position along perm += skip (mod M), until all M slots are taken.
    const used = new Uint8Array(m);
    let filled = 0;
    for (;;) {
      let k = 0;
      let count = 0;
      while (k < n) {
        if (turns[k] < 1) {
          k++;
          continue;
        }
        let c = perm[k];
        while (used[c] !== 0) {
          c += skip[k];
          if (c >= m) c -= m;
        }
        perm[k] = c;
        used[c] = 1;
        this.table[c] = dests[k];
        if (++filled === m) return;
        if (++count >= turns[k]) {
          count = 0;
          k++;
        }
      }
    }
  }

  onDestChange(svc: VirtualService): void {
    this.rebuild(svc); // on add, del and upd alike
  }

  schedule(svc: VirtualService, flow: FlowInfo): Destination | undefined {
    const m = this.size;
    const port = (svc.flags & SVC_F_MH_PORT) !== 0 ? flow.srcPort : 0;
    const base = port + foldForFamily(svc.family, flow.srcAddr.bytes);
    const ihash = hsiphash32(MH_HASH1_KEY, base >>> 0) % m;
    const first = this.table[ihash];
    if ((svc.flags & SVC_F_MH_FALLBACK) === 0) return first === undefined || unavailable(first) ? undefined : first;
    if (first === undefined) return undefined;
    if (!unavailable(first)) return first;
    // mh-fallback: rehash with offset roffset = (offset + ihash) % M, stopping at an empty slot.
    for (let offset = 0; offset < m; offset++) {
      const roffset = (offset + ihash) % m;
      const d = this.table[hsiphash32(MH_HASH1_KEY, (roffset + base) >>> 0) % m];
      if (d === undefined) return undefined;
      if (!unavailable(d)) return d;
    }
    return undefined;
  }
}

/** Maglev Hashing with an M-slot table (env.mhTableSize), mh-port and mh-fallback (spec §1 mh). */
export const mhScheduler: SchedulerFactory = {
  name: 'mh',
  create: (svc, env) => new MaglevHashing(svc, env.mhTableSize),
  validate: (svc, env) => checkMhService(svc, env.mhTableSize),
};

/** What the kernel refuses when binding mh: a table size that is not prime, more destinations than slots (EINVAL). */
function checkMhService(svc: VirtualService, size: number): void {
  if (!isPrime(size)) throw new TsvsError('EINVAL', `Cannot use mh as its table size must be a prime: current value is ${size}`);
  if (svc.destinations.length > size) {
    throw new TsvsError('EINVAL', `Cannot use mh with ${svc.destinations.length} destinations as its table has only ${size} slots`);
  }
}
