// The connection table (spec §2.1, §2.2) as compact storage: one slab of 64-byte records in a
// typed array (no per-connection objects; a packet touches one record, whose first 16 bytes are
// the lookup key), two open-addressing hash indexes (hash-index.ts; in: client+virtual tuple,
// also holding persistence templates; out: server+client-side tuple of NAT and full-NAT conns), a
// free list, an IPv6 side pool (v6-pool.ts) and the expiry wheel. Map.get over 64k flows cost
// 67 ns against 9 ns for such a table (design.md). Capacity doubles up to maxConns.
// Semantics (what a state means, who counts what) live in ipvs.ts; this is storage and lookup.
import type { IpAddress } from '../net/addr.js';
import type { Destination } from '../service/destination.js';
import type { Clock } from '../clock.js';
import { type ConnKey, fold16, u32Of } from './conn-key.js';
import {
  CF_FULLNAT, CF_FWD_MASK, CF_HASHED, CF_MASQ, CF_ONE_PACKET, CF_OUT_HASHED, CF_TEMPLATE, CF_USED, CF_V6,
} from './conn-flags.js';
import { type ConnEntry, connEntry } from './conn-view.js';
import { DestRegistry } from './dest-registry.js';
import { V6_ENTRY, V6AddrPool } from './v6-pool.js';
import { indexInsert, indexRemove, nextPow2 } from './hash-index.js';
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

// The lookups' hash and empty-cell test stay in this module. Tried with both imported from
// hash-index.ts: random-order hits measured 30 % slower with hash4 imported, and lookups about
// 10 % slower with EMPTY imported (bench/conn.ts); module-local functions and constants inline fully.
const EMPTY = 0; // an empty index cell (the indexes hold slot + 1; hash-index.ts's EMPTY)

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3-style hash of four 32-bit words with a per-table seed (the kernel's random ip_vs_conn_rnd). */
function hash4(seed: number, a1: number, a2: number, ports: number, tag: number): number {
  let h = mix(mix(mix(mix(seed, a1), a2), ports), tag);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function eq16(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

// Record layout: 16 32-bit words per slot. Words 14-15 hold the deadline as a float64 (the wheel's).
const W = 16;
const W_CADDR = 0; // client address (IPv4 value or IPv6 fold)
const W_VADDR = 1; // virtual address (IPv4 value, IPv6 fold, or fwmark for fwmark templates)
const W_PORTS = 2; // cport << 16 | vport
const W_TAG = 3; // proto | 0x100 template | 0x200 v6 (the rest of the key) | lidx << 16
const W_FLAGS = 4;
const W_STATE = 5;
const W_DADDR = 6; // server address (IPv4) or the IPv6 side-pool index
const W_DPORTS = 7; // dport | lport << 16
const W_DEST = 8; // destination registry index (0 = none)
const W_CONTROL = 9; // controlling slot + 1 (0 = none); next free slot + 1 for free slots
const W_NCONTROL = 10;
const W_INPKTS = 11;
const W_TIMEOUT = 12; // cp->timeout, ms
const W_FWMARK = 13;
const F64_EXPIRES = 7; // float64 index within the record (words 14-15)
const TAG_TEMPLATE = 0x100;
const TAG_V6 = 0x200;

function keyTag(k: ConnKey): number {
  return k.proto | (k.template ? TAG_TEMPLATE : 0) | (k.v6 ? TAG_V6 : 0);
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
  readonly wheel: TimerWheel;

  private rec: Uint32Array;
  private rec64: Float64Array;
  /**
   * Per slot: the serial of the entry in it (0 when free), so a caller's handle outlives slot reuse.
   * 32 bits: a stale handle could match again only if its slot were reused exactly 2^32 entries
   * later, which the free list's reuse order makes about 1 / free slots likely per wrap.
   */
  private serials: Uint32Array;
  private lastSerial = 0;
  private readonly v6 = new V6AddrPool();

  private inIdx: Int32Array;
  private outIdx: Int32Array;
  private idxMask: number;
  private freeHead = -1;
  private readonly seedIn: number;
  private readonly seedOut: number;
  private readonly clock: Clock;

  private readonly dests = new DestRegistry();
  /** The indexes' rehash callbacks, made once: free() runs on the packet path. */
  private readonly inHashOf = (s: number): number => this.inHash(s);
  private readonly outHashOf = (s: number): number => this.outHash(s);

  /** Full-NAT local addresses, and their IPv4 value or IPv6 fold (set by the owner). */
  localAddrs: readonly IpAddress[] = [];
  local32: Uint32Array = new Uint32Array(0);

  constructor(opts: ConnTableOptions) {
    if (!Number.isInteger(opts.maxConns) || opts.maxConns < 1) throw new RangeError(`maxConns must be a positive integer: current value is ${opts.maxConns}`);
    this.maxConns = opts.maxConns;
    const cap = Math.min(this.maxConns, Math.max(1, opts.initialCapacity ?? 1024));
    this.capacity = cap;
    this.seedIn = opts.seed | 0;
    this.seedOut = Math.imul(opts.seed ^ 0x5bd1e995, 0x27d4eb2d) | 0;
    this.rec = new Uint32Array(cap * W);
    this.rec64 = new Float64Array(this.rec.buffer);
    this.serials = new Uint32Array(cap);
    const isz = nextPow2(cap * 2);
    this.inIdx = new Int32Array(isz);
    this.outIdx = new Int32Array(isz);
    this.idxMask = isz - 1;
    this.clock = opts.clock;
    this.wheel = new TimerWheel(cap, opts.clock.nowMs(), opts.wheel);
    this.wheel.bindExpires(this.rec64, W / 2, F64_EXPIRES);
  }

  // ---- field access (slot = connection id) ----

  /** Whether the slot holds an entry. */
  isUsed(slot: number): boolean {
    return slot >= 0 && slot < this.highWater && (this.rec[slot * W + W_FLAGS] & CF_USED) !== 0;
  }
  /** The serial of the entry in slot s (0 when free): (slot, serial) names one entry for as long as it lives. */
  serialOf(s: number): number { return s >= 0 && s < this.highWater ? this.serials[s] : 0; }
  /** Whether slot s still holds the entry that had `serial` (not freed, not reused since). */
  holds(s: number, serial: number): boolean { return serial !== 0 && this.serials[s] === serial; }
  /** IP protocol number (0 for fwmark templates). */
  proto(s: number): number { return this.rec[s * W + W_TAG] & 0xff; }
  flags(s: number): number { return this.rec[s * W + W_FLAGS]; }
  setFlags(s: number, v: number): void { this.rec[s * W + W_FLAGS] = v; }
  /** Protocol state, or CTPL_S_* bits for templates. */
  state(s: number): number { return this.rec[s * W + W_STATE]; }
  setState(s: number, v: number): void { this.rec[s * W + W_STATE] = v; }
  /** cp->timeout in ms: what every packet re-arms the timer to. */
  timeout(s: number): number { return this.rec[s * W + W_TIMEOUT]; }
  setTimeoutMs(s: number, ms: number): void { this.rec[s * W + W_TIMEOUT] = ms; }
  /** The controlling conn (persistence template), or -1. */
  control(s: number): number { return this.rec[s * W + W_CONTROL] - 1; }
  setControl(s: number, ct: number): void { this.rec[s * W + W_CONTROL] = ct + 1; }
  /** How many conns this one controls. */
  nControl(s: number): number { return this.rec[s * W + W_NCONTROL]; }
  addNControl(s: number, delta: number): void { this.rec[s * W + W_NCONTROL] += delta; }
  inPkts(s: number): number { return this.rec[s * W + W_INPKTS]; }
  incInPkts(s: number): void { this.rec[s * W + W_INPKTS]++; }
  addInPkts(s: number, n: number): void { this.rec[s * W + W_INPKTS] += n; }
  cport(s: number): number { return this.rec[s * W + W_PORTS] >>> 16; }
  vport(s: number): number { return this.rec[s * W + W_PORTS] & 0xffff; }
  dport(s: number): number { return this.rec[s * W + W_DPORTS] & 0xffff; }
  fwmark(s: number): number { return this.rec[s * W + W_FWMARK]; }
  /** IPv4 client / virtual / server address as a number (IPv6 conns: folds and the side index). */
  caddr(s: number): number { return this.rec[s * W + W_CADDR]; }
  vaddr(s: number): number { return this.rec[s * W + W_VADDR]; }
  daddr(s: number): number { return this.rec[s * W + W_DADDR]; }
  /** Full NAT: index of the local address in localAddrs, and the local port. */
  lidx(s: number): number { return this.rec[s * W + W_TAG] >>> 16; }
  lport(s: number): number { return this.rec[s * W + W_DPORTS] >>> 16; }
  /** The conn's deadline in ms on the table's clock. */
  expiresMs(s: number): number { return this.rec64[s * (W / 2) + F64_EXPIRES]; }
  /** The destination of a conn (undefined for bypass conns). */
  destOf(s: number): Destination | undefined { return this.dests.at(this.rec[s * W + W_DEST]); }

  /** Copies an IPv6 conn's address (0 client, 1 virtual, 2 server) into `out` at `at`. */
  copyAddr6(s: number, which: 0 | 1 | 2, out: Uint8Array, at = 0): void {
    const o = this.rec[s * W + W_DADDR] * V6_ENTRY + which * 16;
    const b = this.v6.bytes;
    for (let i = 0; i < 16; i++) out[at + i] = b[o + i];
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
    for (let s = 0; s < this.highWater; s++) if (this.rec[s * W + W_FLAGS] & CF_USED) fn(s);
  }

  // ---- lookup ----

  /** In-lookup (spec §2.1): a conn or template matching the key exactly, or -1. */
  findIn(k: ConnKey): number {
    const tag = keyTag(k);
    const ports = ((k.p1 << 16) | k.p2) >>> 0;
    const rec = this.rec;
    const idx = this.inIdx;
    const mask = this.idxMask;
    let i = hash4(this.seedIn, k.a1, k.a2, ports, tag) & mask;
    for (;;) {
      const e = idx[i];
      if (e === EMPTY) return -1;
      const o = (e - 1) * W;
      if (rec[o] === k.a1 && rec[o + W_VADDR] === k.a2 && rec[o + W_PORTS] === ports && (rec[o + W_TAG] & 0xffff) === tag &&
          (!k.v6 || (eq16(this.v6.bytes, rec[o + W_DADDR] * V6_ENTRY, k.b1, 0) && eq16(this.v6.bytes, rec[o + W_DADDR] * V6_ENTRY + 16, k.b2, 0)))) {
        return e - 1;
      }
      i = (i + 1) & mask;
    }
  }

  /** Out-lookup (spec §2.1) of NAT and full-NAT conns: a1/p1 = server, a2/p2 = client (or local) side. */
  findOut(k: ConnKey): number {
    const tag = k.proto | (k.v6 ? TAG_V6 : 0);
    const idx = this.outIdx;
    const mask = this.idxMask;
    let i = hash4(this.seedOut, k.a1, k.a2, ((k.p1 << 16) | k.p2) >>> 0, tag) & mask;
    for (;;) {
      const e = idx[i];
      if (e === EMPTY) return -1;
      if (this.outMatches(e - 1, k, tag)) return e - 1;
      i = (i + 1) & mask;
    }
  }

  private outMatches(s: number, k: ConnKey, tag: number): boolean {
    const rec = this.rec;
    const o = s * W;
    if ((rec[o + W_DPORTS] & 0xffff) !== k.p1 || (rec[o + W_TAG] & (0xff | TAG_V6)) !== tag) return false;
    const full = (rec[o + W_FLAGS] & CF_FWD_MASK) === CF_FULLNAT;
    const lidx = rec[o + W_TAG] >>> 16;
    if (!k.v6) {
      if (rec[o + W_DADDR] !== k.a1) return false;
      return full ? this.local32[lidx] === k.a2 && rec[o + W_DPORTS] >>> 16 === k.p2
        : rec[o + W_CADDR] === k.a2 && rec[o + W_PORTS] >>> 16 === k.p2;
    }
    const so = rec[o + W_DADDR] * V6_ENTRY;
    if (!eq16(this.v6.bytes, so + 32, k.b1, 0)) return false;
    if (full) return rec[o + W_DPORTS] >>> 16 === k.p2 && eq16(this.localAddrs[lidx].bytes, 0, k.b2, 0);
    return rec[o + W_PORTS] >>> 16 === k.p2 && eq16(this.v6.bytes, so, k.b2, 0);
  }

  // ---- life cycle ----

  /**
   * A new entry from an in-form key (client, virtual), bound to nothing yet: state 0, timeout 3 s
   * (ip_vs_conn_new, spec §2.4), not armed. Hashed in the in-index unless ONE_PACKET (spec §2.8);
   * MASQ conns also go in the out-index (full NAT after setLocal). Returns -1 when the table is full.
   */
  create(k: ConnKey, dest: Destination | undefined, dport: number, flags: number, fwmark: number): number {
    const s = this.alloc();
    if (s < 0) return -1;
    const rec = this.rec;
    const o = s * W;
    rec[o + W_CADDR] = k.a1;
    rec[o + W_VADDR] = k.a2;
    rec[o + W_PORTS] = ((k.p1 << 16) | k.p2) >>> 0;
    rec[o + W_TAG] = keyTag(k);
    rec[o + W_FLAGS] = (flags & ~(CF_HASHED | CF_OUT_HASHED | CF_V6 | CF_TEMPLATE)) | (k.template ? CF_TEMPLATE : 0) | CF_USED | (k.v6 ? CF_V6 : 0);
    rec[o + W_STATE] = 0;
    rec[o + W_DPORTS] = dport;
    rec[o + W_DEST] = dest ? this.dests.ref(dest) : 0;
    rec[o + W_CONTROL] = 0;
    rec[o + W_NCONTROL] = 0;
    rec[o + W_INPKTS] = 0;
    rec[o + W_TIMEOUT] = INITIAL_TIMEOUT_MS;
    rec[o + W_FWMARK] = fwmark >>> 0;
    this.lastSerial = (this.lastSerial + 1) >>> 0 || 1;
    this.serials[s] = this.lastSerial;
    if (k.v6) rec[o + W_DADDR] = this.v6.alloc(k.b1, k.b2, dest && dest.addr.family === 6 ? dest.addr.bytes : undefined);
    else rec[o + W_DADDR] = dest && dest.addr.family === 4 ? u32Of(dest.addr) : 0;
    if ((flags & CF_ONE_PACKET) === 0) {
      indexInsert(this.inIdx, this.idxMask, s, this.inHash(s));
      rec[o + W_FLAGS] |= CF_HASHED;
      if (!k.template && (flags & CF_FWD_MASK) === CF_MASQ) this.hashOut(s);
    }
    this.count++;
    return s;
  }

  /** Full NAT: records the local (SNAT) endpoint and indexes the conn for replies. */
  setLocal(s: number, lidx: number, lport: number): void {
    const o = s * W;
    this.rec[o + W_TAG] = (this.rec[o + W_TAG] & 0xffff) | (lidx << 16);
    this.rec[o + W_DPORTS] = ((this.rec[o + W_DPORTS] & 0xffff) | (lport << 16)) >>> 0;
    if (this.rec[o + W_FLAGS] & CF_HASHED) this.hashOut(s);
  }

  /**
   * ip_vs_check_template failed: the template leaves the in-index and is re-keyed with vport and
   * dport 0xffff and cport 0 (as the kernel re-hashes it), so it never matches again (spec §2.7).
   */
  invalidate(s: number): void {
    const o = s * W;
    if (this.rec[o + W_FLAGS] & CF_HASHED) {
      indexRemove(this.inIdx, this.idxMask, s, this.inHashOf);
      this.rec[o + W_FLAGS] &= ~CF_HASHED;
    }
    this.rec[o + W_PORTS] = 0xffff;
    this.rec[o + W_DPORTS] = ((this.rec[o + W_DPORTS] & 0xffff0000) | 0xffff) >>> 0;
  }

  /** Frees an entry: unhashes it, disarms its timer and releases its destination reference. */
  free(s: number): void {
    const o = s * W;
    const f = this.rec[o + W_FLAGS];
    if ((f & CF_USED) === 0) return;
    if (f & CF_HASHED) indexRemove(this.inIdx, this.idxMask, s, this.inHashOf);
    if (f & CF_OUT_HASHED) indexRemove(this.outIdx, this.idxMask, s, this.outHashOf);
    this.wheel.cancel(s);
    if (f & CF_V6) this.v6.release(this.rec[o + W_DADDR]);
    this.dests.unref(this.rec[o + W_DEST]);
    this.rec[o + W_DEST] = 0;
    this.rec[o + W_FLAGS] = 0;
    this.serials[s] = 0;
    this.rec[o + W_CONTROL] = this.freeHead + 1;
    this.freeHead = s;
    this.count--;
  }

  // ---- indexes ----

  private hashOut(s: number): void {
    indexInsert(this.outIdx, this.idxMask, s, this.outHash(s));
    this.rec[s * W + W_FLAGS] |= CF_OUT_HASHED;
  }

  private inHash(s: number): number {
    const o = s * W;
    return hash4(this.seedIn, this.rec[o + W_CADDR], this.rec[o + W_VADDR], this.rec[o + W_PORTS], this.rec[o + W_TAG] & 0xffff);
  }

  private outHash(s: number): number {
    const rec = this.rec;
    const o = s * W;
    const v6 = (rec[o + W_FLAGS] & CF_V6) !== 0;
    const server = v6 ? fold16(this.v6.bytes, rec[o + W_DADDR] * V6_ENTRY + 32) : rec[o + W_DADDR];
    const full = (rec[o + W_FLAGS] & CF_FWD_MASK) === CF_FULLNAT;
    const side = full ? this.local32[rec[o + W_TAG] >>> 16] : rec[o + W_CADDR];
    const port = full ? rec[o + W_DPORTS] >>> 16 : rec[o + W_PORTS] >>> 16;
    const ports = (((rec[o + W_DPORTS] & 0xffff) << 16) | port) >>> 0;
    return hash4(this.seedOut, server, side, ports, (rec[o + W_TAG] & 0xff) | (v6 ? TAG_V6 : 0));
  }

  // ---- storage ----

  private alloc(): number {
    if (this.freeHead >= 0) {
      const s = this.freeHead;
      this.freeHead = this.rec[s * W + W_CONTROL] - 1;
      return s;
    }
    if (this.highWater >= this.capacity) {
      if (this.capacity >= this.maxConns) return -1;
      this.grow(Math.min(this.maxConns, this.capacity * 2));
    }
    return this.highWater++;
  }

  private grow(cap: number): void {
    const rec = new Uint32Array(cap * W);
    rec.set(this.rec);
    this.rec = rec;
    this.rec64 = new Float64Array(rec.buffer);
    const serials = new Uint32Array(cap);
    serials.set(this.serials);
    this.serials = serials;
    this.wheel.grow(cap);
    this.wheel.bindExpires(this.rec64, W / 2, F64_EXPIRES);
    this.capacity = cap;
    const isz = nextPow2(cap * 2);
    if (isz > this.inIdx.length) {
      this.inIdx = new Int32Array(isz);
      this.outIdx = new Int32Array(isz);
      this.idxMask = isz - 1;
      for (let s = 0; s < this.highWater; s++) {
        const f = rec[s * W + W_FLAGS];
        if (f & CF_HASHED) indexInsert(this.inIdx, this.idxMask, s, this.inHash(s));
        if (f & CF_OUT_HASHED) indexInsert(this.outIdx, this.idxMask, s, this.outHash(s));
      }
    }
  }
}
