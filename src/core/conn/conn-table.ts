// The connection table (spec §2.1, §2.2) as compact storage: one slab of typed arrays (a column
// per field, a row per connection, no per-connection objects), two open-addressing hash indexes
// (in: client+virtual tuple, also holding persistence templates; out: server+client-side tuple of
// NAT and full-NAT conns), a free list, an IPv6 side pool and the expiry wheel. Map.get over 64k
// flows cost 67 ns against 9 ns for such a table (design.md). Capacity doubles up to maxConns.
// Semantics (what a state means, who counts what) live in ipvs.ts; this is storage and lookup.
import type { Destination } from '../service/destination.js';
import type { Clock } from '../clock.js';
import { type ConnKey, fold16, u32Of } from './conn-key.js';
import {
  CF_FULLNAT, CF_FWD_MASK, CF_HASHED, CF_MASQ, CF_ONE_PACKET, CF_OUT_HASHED, CF_TEMPLATE, CF_USED, CF_V6,
} from './conn-flags.js';
import { type ConnEntry, connEntry } from './conn-view.js';
import { INITIAL_TIMEOUT_MS } from './timeouts.js';
import { TimerWheel, type TimerWheelOptions } from './timer-wheel.js';

/** Options of a ConnTable. */
export interface ConnTableOptions {
  /** Hard cap on entries (connections + templates). */
  readonly maxConns: number;
  /** Slots allocated up front (default min(1024, maxConns)). */
  readonly initialCapacity?: number;
  /** Per-boot hash seed (the kernel's random ip_vs_conn_rnd). */
  readonly seed: number;
  /** The clock expiry runs on (listings compute remaining time from it). */
  readonly clock: Clock;
  readonly wheel?: TimerWheelOptions;
}

const EMPTY = 0;

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function hash4(seed: number, a1: number, a2: number, ports: number, tag: number): number {
  let h = mix(mix(mix(mix(seed, a1), a2), ports), tag);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function eq16(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

export class ConnTable {
  /** Hard cap on entries. */
  readonly maxConns: number;
  /** Entries in use (connections and templates). */
  count = 0;
  /** Slots allocated (grows by doubling up to maxConns). */
  capacity: number;
  /** Highest slot ever used + 1. */
  highWater = 0;

  // The slab: one column per field (read by conn-view.ts and ipvs.ts; write through methods).
  proto: Uint8Array;
  state: Uint8Array;
  flags: Uint32Array;
  /** Client / virtual / server address: IPv4 value, or for IPv6 the folds (caddr, vaddr) and the side-pool index (daddr). */
  caddr: Uint32Array;
  vaddr: Uint32Array;
  daddr: Uint32Array;
  cport: Uint16Array;
  vport: Uint16Array;
  dport: Uint16Array;
  /** Destination registry index (0 = none: bypass conns). */
  destIdx: Uint32Array;
  /** Controlling conn (persistence template) or -1; for free slots, the next free slot. */
  control: Int32Array;
  nControl: Uint32Array;
  inPkts: Uint32Array;
  /** cp->timeout in ms: what every packet re-arms the timer to. */
  timeout: Uint32Array;
  fwmark: Uint32Array;
  /** Full NAT: index of the local address in localAddrs, and the local port. */
  lidx: Uint16Array;
  lport: Uint16Array;
  readonly wheel: TimerWheel;
  private readonly clock: Clock;

  /** IPv6 side pool: 48 bytes per v6 conn (client, virtual, server). */
  side: Uint8Array;
  private sideFree: number[] = [];
  private sideHigh = 0;

  private inIdx: Int32Array;
  private outIdx: Int32Array;
  private idxMask: number;
  private freeHead = -1;
  private readonly seedIn: number;
  private readonly seedOut: number;

  private readonly dests: (Destination | undefined)[] = [undefined];
  private readonly destRefs: number[] = [0];
  private readonly destFree: number[] = [];
  private readonly destSlotOf = new Map<Destination, number>();

  /** Full-NAT local addresses (IPv4 value or IPv6 fold in local32). */
  localAddrs: readonly { readonly family: 4 | 6; readonly bytes: Uint8Array }[] = [];
  local32: Uint32Array = new Uint32Array(0);

  constructor(opts: ConnTableOptions) {
    if (!Number.isInteger(opts.maxConns) || opts.maxConns < 1) throw new RangeError(`maxConns must be a positive integer: current value is ${opts.maxConns}`);
    this.maxConns = opts.maxConns;
    const cap = Math.min(this.maxConns, Math.max(1, opts.initialCapacity ?? 1024));
    this.capacity = cap;
    this.seedIn = opts.seed | 0;
    this.seedOut = Math.imul(opts.seed ^ 0x5bd1e995, 0x27d4eb2d) | 0;
    this.proto = new Uint8Array(cap);
    this.state = new Uint8Array(cap);
    this.flags = new Uint32Array(cap);
    this.caddr = new Uint32Array(cap);
    this.vaddr = new Uint32Array(cap);
    this.daddr = new Uint32Array(cap);
    this.cport = new Uint16Array(cap);
    this.vport = new Uint16Array(cap);
    this.dport = new Uint16Array(cap);
    this.destIdx = new Uint32Array(cap);
    this.control = new Int32Array(cap);
    this.nControl = new Uint32Array(cap);
    this.inPkts = new Uint32Array(cap);
    this.timeout = new Uint32Array(cap);
    this.fwmark = new Uint32Array(cap);
    this.lidx = new Uint16Array(cap);
    this.lport = new Uint16Array(cap);
    this.side = new Uint8Array(0);
    const isz = nextPow2(cap * 2);
    this.inIdx = new Int32Array(isz);
    this.outIdx = new Int32Array(isz);
    this.idxMask = isz - 1;
    this.clock = opts.clock;
    this.wheel = new TimerWheel(cap, opts.clock.nowMs(), opts.wheel);
  }

  /** Whether the slot holds an entry. */
  isUsed(slot: number): boolean {
    return slot >= 0 && slot < this.highWater && (this.flags[slot] & CF_USED) !== 0;
  }

  /** The destination of a conn (undefined for bypass conns). */
  destOf(slot: number): Destination | undefined {
    return this.dests[this.destIdx[slot]];
  }

  /** The conn's deadline in ms on the table's clock. */
  expiresMs(slot: number): number {
    return this.wheel.expires[slot];
  }

  /** In-lookup (spec §2.1): a conn or template matching the key exactly, or -1. */
  findIn(k: ConnKey): number {
    const tag = k.proto | (k.template ? 0x100 : 0) | (k.v6 ? 0x200 : 0);
    const want = (k.template ? CF_TEMPLATE : 0) | (k.v6 ? CF_V6 : 0);
    const idx = this.inIdx;
    const mask = this.idxMask;
    let i = hash4(this.seedIn, k.a1, k.a2, (k.p1 << 16) | k.p2, tag) & mask;
    for (;;) {
      const e = idx[i];
      if (e === EMPTY) return -1;
      const s = e - 1;
      if (this.caddr[s] === k.a1 && this.vaddr[s] === k.a2 && this.cport[s] === k.p1 && this.vport[s] === k.p2 &&
          this.proto[s] === k.proto && (this.flags[s] & (CF_TEMPLATE | CF_V6)) === want &&
          (!k.v6 || (eq16(this.side, this.daddr[s] * 48, k.b1, 0) && eq16(this.side, this.daddr[s] * 48 + 16, k.b2, 0)))) {
        return s;
      }
      i = (i + 1) & mask;
    }
  }

  /** Out-lookup (spec §2.1) of NAT and full-NAT conns: a1/p1 = server, a2/p2 = client (or local) side. */
  findOut(k: ConnKey): number {
    const tag = k.proto | (k.v6 ? 0x200 : 0);
    const idx = this.outIdx;
    const mask = this.idxMask;
    let i = hash4(this.seedOut, k.a1, k.a2, (k.p1 << 16) | k.p2, tag) & mask;
    for (;;) {
      const e = idx[i];
      if (e === EMPTY) return -1;
      const s = e - 1;
      if (this.dport[s] === k.p1 && this.proto[s] === k.proto && this.outMatches(s, k)) return s;
      i = (i + 1) & mask;
    }
  }

  private outMatches(s: number, k: ConnKey): boolean {
    const f = this.flags[s];
    if (((f & CF_V6) !== 0) !== k.v6) return false;
    const full = (f & CF_FWD_MASK) === CF_FULLNAT;
    if (!k.v6) {
      if (this.daddr[s] !== k.a1) return false;
      return full ? this.local32[this.lidx[s]] === k.a2 && this.lport[s] === k.p2 : this.caddr[s] === k.a2 && this.cport[s] === k.p2;
    }
    const o = this.daddr[s] * 48;
    if (!eq16(this.side, o + 32, k.b1, 0)) return false;
    if (full) return this.lport[s] === k.p2 && eq16(this.localAddrs[this.lidx[s]].bytes, 0, k.b2, 0);
    return this.cport[s] === k.p2 && eq16(this.side, o, k.b2, 0);
  }

  /**
   * A new entry from an in-form key (client, virtual), bound to nothing yet: state 0, timeout 3 s
   * (ip_vs_conn_new, spec §2.4), not armed. Hashed in the in-index unless ONE_PACKET (spec §2.8);
   * MASQ conns also go in the out-index (full NAT after setLocal). Returns -1 when the table is full.
   */
  create(k: ConnKey, dest: Destination | undefined, dport: number, flags: number, fwmark: number): number {
    const s = this.alloc();
    if (s < 0) return -1;
    this.proto[s] = k.proto;
    this.state[s] = 0;
    this.flags[s] = (flags & ~(CF_HASHED | CF_OUT_HASHED | CF_V6 | CF_TEMPLATE)) | (k.template ? CF_TEMPLATE : 0) | CF_USED | (k.v6 ? CF_V6 : 0);
    this.caddr[s] = k.a1;
    this.cport[s] = k.p1;
    this.vaddr[s] = k.a2;
    this.vport[s] = k.p2;
    this.dport[s] = dport;
    this.control[s] = -1;
    this.nControl[s] = 0;
    this.inPkts[s] = 0;
    this.timeout[s] = INITIAL_TIMEOUT_MS;
    this.fwmark[s] = fwmark >>> 0;
    this.lidx[s] = 0;
    this.lport[s] = 0;
    this.destIdx[s] = dest ? this.destRef(dest) : 0;
    if (k.v6) {
      const si = this.sideAlloc();
      const o = si * 48;
      this.daddr[s] = si;
      this.side.set(k.b1, o);
      this.side.set(k.b2, o + 16);
      if (dest && dest.addr.family === 6) this.side.set(dest.addr.bytes, o + 32);
      else this.side.fill(0, o + 32, o + 48);
    } else {
      this.daddr[s] = dest && dest.addr.family === 4 ? u32Of(dest.addr) : 0;
    }
    if ((flags & CF_ONE_PACKET) === 0) {
      this.insert(this.inIdx, s, this.inHash(s));
      this.flags[s] |= CF_HASHED;
      if (!k.template && (flags & CF_FWD_MASK) === CF_MASQ) this.hashOut(s);
    }
    this.count++;
    return s;
  }

  /** Full NAT: records the local (SNAT) endpoint and indexes the conn for replies. */
  setLocal(slot: number, lidx: number, lport: number): void {
    this.lidx[slot] = lidx;
    this.lport[slot] = lport;
    if ((this.flags[slot] & CF_HASHED) !== 0) this.hashOut(slot);
  }

  /** Removes an entry from the in-index (template invalidation); it stays in the slab until freed. */
  unhashIn(slot: number): void {
    if ((this.flags[slot] & CF_HASHED) === 0) return;
    this.remove(this.inIdx, slot, this.inHash(slot), (s) => this.inHash(s));
    this.flags[slot] &= ~CF_HASHED;
  }

  /** Frees an entry: unhashes it, disarms its timer and releases its destination reference. */
  free(slot: number): void {
    const f = this.flags[slot];
    if ((f & CF_USED) === 0) return;
    if (f & CF_HASHED) this.remove(this.inIdx, slot, this.inHash(slot), (s) => this.inHash(s));
    if (f & CF_OUT_HASHED) this.remove(this.outIdx, slot, this.outHash(slot), (s) => this.outHash(s));
    this.wheel.cancel(slot);
    if (f & CF_V6) this.sideFree.push(this.daddr[slot]);
    this.destUnref(this.destIdx[slot]);
    this.destIdx[slot] = 0;
    this.flags[slot] = 0;
    this.control[slot] = this.freeHead;
    this.freeHead = slot;
    this.count--;
  }

  /** The listing view of one entry, or undefined when the id is not in use. */
  get(id: number): ConnEntry | undefined {
    return connEntry(this, id, this.clock.nowMs());
  }

  /** Every entry as a listing view, in slot order (control path: allocates). */
  *entries(): IterableIterator<ConnEntry> {
    const now = this.clock.nowMs();
    for (let s = 0; s < this.highWater; s++) {
      const e = connEntry(this, s, now);
      if (e) yield e;
    }
  }

  /** Calls fn for every entry in slot order. */
  forEach(fn: (slot: number) => void): void {
    for (let s = 0; s < this.highWater; s++) if (this.flags[s] & CF_USED) fn(s);
  }

  private hashOut(s: number): void {
    this.insert(this.outIdx, s, this.outHash(s));
    this.flags[s] |= CF_OUT_HASHED;
  }

  private inHash(s: number): number {
    const f = this.flags[s];
    const tag = this.proto[s] | (f & CF_TEMPLATE ? 0x100 : 0) | (f & CF_V6 ? 0x200 : 0);
    return hash4(this.seedIn, this.caddr[s], this.vaddr[s], (this.cport[s] << 16) | this.vport[s], tag);
  }

  private outHash(s: number): number {
    const f = this.flags[s];
    const v6 = (f & CF_V6) !== 0;
    const server = v6 ? fold16(this.side, this.daddr[s] * 48 + 32) : this.daddr[s];
    const full = (f & CF_FWD_MASK) === CF_FULLNAT;
    const side = full ? this.local32[this.lidx[s]] : this.caddr[s];
    const port = full ? this.lport[s] : this.cport[s];
    return hash4(this.seedOut, server, side, (this.dport[s] << 16) | port, this.proto[s] | (v6 ? 0x200 : 0));
  }

  private insert(idx: Int32Array, s: number, h: number): void {
    const mask = this.idxMask;
    let i = h & mask;
    while (idx[i] !== EMPTY) i = (i + 1) & mask;
    idx[i] = s + 1;
  }

  // Linear probing with backward-shift deletion: no tombstones, probe chains stay short.
  private remove(idx: Int32Array, s: number, h: number, rehash: (slot: number) => number): void {
    const mask = this.idxMask;
    let i = h & mask;
    while (idx[i] !== s + 1) {
      if (idx[i] === EMPTY) return;
      i = (i + 1) & mask;
    }
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = idx[j];
      if (e === EMPTY) break;
      const home = rehash(e - 1) & mask;
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) { idx[i] = e; i = j; }
    }
    idx[i] = EMPTY;
  }

  private alloc(): number {
    if (this.freeHead >= 0) {
      const s = this.freeHead;
      this.freeHead = this.control[s];
      return s;
    }
    if (this.highWater >= this.capacity) {
      if (this.capacity >= this.maxConns) return -1;
      this.grow(Math.min(this.maxConns, this.capacity * 2));
    }
    return this.highWater++;
  }

  private grow(cap: number): void {
    const g = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.proto = g(this.proto, (n) => new Uint8Array(n));
    this.state = g(this.state, (n) => new Uint8Array(n));
    this.flags = g(this.flags, (n) => new Uint32Array(n));
    this.caddr = g(this.caddr, (n) => new Uint32Array(n));
    this.vaddr = g(this.vaddr, (n) => new Uint32Array(n));
    this.daddr = g(this.daddr, (n) => new Uint32Array(n));
    this.cport = g(this.cport, (n) => new Uint16Array(n));
    this.vport = g(this.vport, (n) => new Uint16Array(n));
    this.dport = g(this.dport, (n) => new Uint16Array(n));
    this.destIdx = g(this.destIdx, (n) => new Uint32Array(n));
    this.control = g(this.control, (n) => new Int32Array(n));
    this.nControl = g(this.nControl, (n) => new Uint32Array(n));
    this.inPkts = g(this.inPkts, (n) => new Uint32Array(n));
    this.timeout = g(this.timeout, (n) => new Uint32Array(n));
    this.fwmark = g(this.fwmark, (n) => new Uint32Array(n));
    this.lidx = g(this.lidx, (n) => new Uint16Array(n));
    this.lport = g(this.lport, (n) => new Uint16Array(n));
    this.wheel.grow(cap);
    this.capacity = cap;
    const isz = nextPow2(cap * 2);
    if (isz > this.inIdx.length) {
      this.inIdx = new Int32Array(isz);
      this.outIdx = new Int32Array(isz);
      this.idxMask = isz - 1;
      for (let s = 0; s < this.highWater; s++) {
        const f = this.flags[s];
        if (f & CF_HASHED) this.insert(this.inIdx, s, this.inHash(s));
        if (f & CF_OUT_HASHED) this.insert(this.outIdx, s, this.outHash(s));
      }
    }
  }

  private sideAlloc(): number {
    const free = this.sideFree.pop();
    if (free !== undefined) return free;
    const si = this.sideHigh++;
    if ((si + 1) * 48 > this.side.length) {
      const b = new Uint8Array(Math.max(48 * 64, this.side.length * 2));
      b.set(this.side);
      this.side = b;
    }
    return si;
  }

  private destRef(d: Destination): number {
    let i = this.destSlotOf.get(d);
    if (i === undefined) {
      i = this.destFree.pop() ?? this.dests.length;
      this.dests[i] = d;
      this.destRefs[i] = 0;
      this.destSlotOf.set(d, i);
    }
    this.destRefs[i]++;
    return i;
  }

  private destUnref(i: number): void {
    if (i === 0) return;
    if (--this.destRefs[i] === 0) {
      this.destSlotOf.delete(this.dests[i]!);
      this.dests[i] = undefined;
      this.destFree.push(i);
    }
  }
}
