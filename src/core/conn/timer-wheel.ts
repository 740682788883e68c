// Connection expiry without a timer per connection: a hashed timing wheel over the injected clock.
// Each slot has a deadline (expires, ms) and sits in the intrusive circular list of the bucket of
// its tick (deadline / granularity); every bucket and the "being processed" list have a sentinel
// node, so unlinking never needs to know where a node is. Moving a deadline later — what every
// packet does (ip_vs_conn_put) — only stores the new deadline: the node is moved when its old
// bucket comes up. An earlier deadline relinks at once. A slot expires exactly when
// `expires <= now` at an advance(); an advance with nothing due costs O(1) plus the current bucket.

/** Options for a TimerWheel. */
export interface TimerWheelOptions {
  /** Width of one bucket in ms (default 8). */
  readonly granularityMs?: number;
  /** Number of buckets, a power of two (default 2^16: with 8 ms, one turn is ≈ 524 s). */
  readonly buckets?: number;
}

export class TimerWheel {
  /** Deadlines (ms): slot s at exp[s * stride + off]; own storage or a view bound by the owner. */
  private exp: Float64Array;
  private stride = 1;
  private off = 0;
  private ownExpires = true;
  private next: Int32Array;
  private prev: Int32Array;
  private readonly nBuckets: number;
  private readonly mask: number;
  private readonly gran: number;
  /** Node id of the list being drained; slot s is node base + s. */
  private readonly proc: number;
  private readonly base: number;
  /** Every tick up to this one has been processed. */
  private lastDone: number;
  private lastNow = -1;

  constructor(capacity: number, nowMs: number, opts: TimerWheelOptions = {}) {
    this.gran = opts.granularityMs ?? 8;
    this.nBuckets = opts.buckets ?? 1 << 16;
    if (!(this.gran > 0) || this.nBuckets < 2 || (this.nBuckets & (this.nBuckets - 1)) !== 0) {
      throw new RangeError('TimerWheel needs a positive granularity and a power-of-two bucket count');
    }
    this.mask = this.nBuckets - 1;
    this.proc = this.nBuckets;
    this.base = this.nBuckets + 1;
    this.next = new Int32Array(this.base + capacity);
    this.prev = new Int32Array(this.base + capacity);
    this.exp = new Float64Array(capacity);
    for (let i = 0; i < this.base; i++) { this.next[i] = i; this.prev[i] = i; }
    this.next.fill(-1, this.base);
    this.lastDone = Math.floor(nowMs / this.gran) - 1;
  }

  /**
   * Keeps deadlines in the owner's storage (slot s at view[s * stride + offset]) so a packet's
   * re-arm writes the same cache line as the rest of its conn. Rebind after the owner reallocates.
   */
  bindExpires(view: Float64Array, stride: number, offset: number): void {
    this.exp = view;
    this.stride = stride;
    this.off = offset;
    this.ownExpires = false;
  }

  /** The slot's deadline in ms (meaningful while armed). */
  expiresOf(slot: number): number {
    return this.exp[slot * this.stride + this.off];
  }

  /** Room for `capacity` slots (never shrinks). */
  grow(capacity: number): void {
    const old = this.next.length - this.base;
    if (capacity <= old) return;
    const next = new Int32Array(this.base + capacity);
    const prev = new Int32Array(this.base + capacity);
    next.set(this.next);
    prev.set(this.prev);
    next.fill(-1, this.base + old);
    this.next = next;
    this.prev = prev;
    if (this.ownExpires) {
      const exp = new Float64Array(capacity);
      exp.set(this.exp);
      this.exp = exp;
    }
  }

  /** Whether the slot has a deadline. */
  isArmed(slot: number): boolean {
    return this.next[this.base + slot] !== -1;
  }

  /** Sets the slot's deadline, relinking it. */
  arm(slot: number, expiresMs: number): void {
    const node = this.base + slot;
    if (this.next[node] !== -1) this.unlink(node);
    this.exp[slot * this.stride + this.off] = expiresMs;
    let tick = Math.floor(expiresMs / this.gran);
    if (tick <= this.lastDone + 1) {
      tick = Math.max(tick, this.lastDone + 1);
      this.lastNow = -1; // due in the bucket being revisited: the next advance must look
    }
    this.linkTail(tick & this.mask, node);
  }

  /** Re-arms on a packet: a later deadline is stored lazily, an earlier one relinks. */
  rearm(slot: number, expiresMs: number): void {
    const i = slot * this.stride + this.off;
    if (this.next[this.base + slot] !== -1 && expiresMs >= this.exp[i]) this.exp[i] = expiresMs;
    else this.arm(slot, expiresMs);
  }

  /** Removes the slot's deadline. */
  cancel(slot: number): void {
    const node = this.base + slot;
    if (this.next[node] !== -1) this.unlink(node);
  }

  /**
   * Calls `onExpire(slot)` for every slot whose deadline is <= nowMs, in bucket (≈ deadline) order.
   * The slot is disarmed before the call; the callback may arm or cancel any slot. Returns the count.
   */
  advance(nowMs: number, onExpire: (slot: number) => void): number {
    if (nowMs === this.lastNow) return 0;
    this.lastNow = nowMs;
    const nowTick = Math.floor(nowMs / this.gran);
    if (nowTick <= this.lastDone) return 0;
    let from = this.lastDone + 1;
    if (nowTick - from >= this.nBuckets) from = nowTick - this.nBuckets + 1;
    let n = 0;
    for (let t = from; t <= nowTick; t++) n += this.drain(t, nowMs, onExpire);
    // The current tick is only partly over: visit its bucket again next time.
    this.lastDone = nowTick - 1;
    return n;
  }

  private drain(tick: number, nowMs: number, onExpire: (slot: number) => void): number {
    const b = tick & this.mask;
    const next = this.next;
    const first = next[b];
    if (first === b) return 0;
    const proc = this.proc;
    const last = this.prev[b];
    next[proc] = first; this.prev[first] = proc;
    this.prev[proc] = last; next[last] = proc;
    next[b] = b; this.prev[b] = b;
    let n = 0;
    while (this.next[proc] !== proc) {
      const node = this.next[proc];
      this.unlink(node);
      const slot = node - this.base;
      const e = this.exp[slot * this.stride + this.off];
      if (e <= nowMs) {
        n++;
        onExpire(slot);
        continue;
      }
      const et = Math.floor(e / this.gran);
      this.linkTail(et <= tick ? b : et & this.mask, node);
    }
    return n;
  }

  private linkTail(bucket: number, node: number): void {
    const tail = this.prev[bucket];
    this.next[tail] = node;
    this.prev[node] = tail;
    this.next[node] = bucket;
    this.prev[bucket] = node;
  }

  private unlink(node: number): void {
    const n = this.next[node];
    const p = this.prev[node];
    this.next[p] = n;
    this.prev[n] = p;
    this.next[node] = -1;
  }
}
