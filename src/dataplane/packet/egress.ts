// Where the forwarding loop's frames leave (ADR 0003 "TX"). Each output interface gets, on its first
// frame, a TPACKET_V2 transmit ring (PACKET_TX_RING) of its own: frames are written into the ring's
// slots and one send(fd, NULL, 0) per batch hands them all to the kernel, which is cheaper than
// sendmmsg (no msghdr/iovec walk, no copy_from_user per frame; bench/RESULTS-packet.md). A ring is
// bound to one device, so the loop stages each received frame directly in a slot of the ring the
// previous frame left on (one egress interface is the common case): the engine then rewrites it in
// place there and nothing is copied again. A frame that goes elsewhere is copied into its own
// interface's ring. Interfaces beyond `maxRings`, rings that fail to open and full rings fall back
// to the sendmmsg socket (PacketTx), which can send anywhere.
import {
  AF_PACKET, type Arena, PACKET_QDISC_BYPASS, PACKET_VERSION, type PacketTx, SOCK_RAW, SOL_PACKET, SOL_SOCKET, SO_SNDBUFFORCE, pageAlign,
} from './af-packet.js';
import { type Libc, check, htons, intOpt, EAGAIN, ENOBUFS } from './ffi.js';
import type { IoCounters } from './worker-protocol.js';

const PACKET_TX_RING = 13;
const PACKET_LOSS = 14;
const TPACKET_V2 = 1;
const MSG_DONTWAIT = 0x40;
/** tp_status of a TX frame: free for user space / queued by user space. */
const TP_STATUS_AVAILABLE = 0;
const TP_STATUS_SEND_REQUEST = 1;
/** A TPACKET_V2 TX frame's data starts after the 32-byte tpacket2_hdr (TPACKET2_HDRLEN - sizeof(sockaddr_ll)). */
const TX_DATA = 32;
/** Frames per TX ring: room for several batches in flight on a real NIC (completion is asynchronous). */
export const TX_FRAMES = 256;

/** The geometry of a TX ring whose data areas hold `slotSize` bytes. */
export function txRingGeometry(slotSize: number): { frameSize: number; blockSize: number; blockNr: number; frameNr: number; bytes: number } {
  const frameSize = slotSize + 64; // header + data, a multiple of TPACKET_ALIGNMENT (16)
  const blockSize = Math.max(1 << 16, pageAlign(frameSize));
  const perBlock = Math.floor(blockSize / frameSize);
  const blockNr = Math.ceil(TX_FRAMES / perBlock);
  return { frameSize, blockSize, blockNr, frameNr: perBlock * blockNr, bytes: blockSize * blockNr };
}

/** One interface's TX ring. */
class TxRing {
  /** Arena offset of every frame's header. */
  readonly hdr: Int32Array;
  views: Uint8Array[] = [];
  head = 0;
  /** Frames marked SEND_REQUEST since the last successful kick. */
  pending = 0;
  dead = false;

  constructor(readonly fd: number, readonly ifIndex: number, base: number, g: ReturnType<typeof txRingGeometry>) {
    this.hdr = new Int32Array(g.frameNr);
    const perBlock = g.frameNr / g.blockNr;
    for (let i = 0; i < g.frameNr; i++) this.hdr[i] = base + Math.floor(i / perBlock) * g.blockSize + (i % perBlock) * g.frameSize;
  }
}

/** The transmit side of one worker: TX rings per interface plus the sendmmsg fallback. */
export class Egress {
  /** Where the next frame is staged: arena offset of its data, a view of `slotSize` bytes over it, and its ring (null: fallback slot). */
  stagedOff = 0;
  stagedView!: Uint8Array;
  private stagedRing: TxRing | null = null;
  private predicted: TxRing | null = null;
  private readonly rings: TxRing[] = [];
  private readonly failed = new Set<number>();
  private u8!: Uint8Array;
  private u32!: Uint32Array;
  private slotViews: Uint8Array[] = [];
  private readonly geometry: ReturnType<typeof txRingGeometry>;

  /** Arena bytes to reserve for `maxRings` rings of `slotSize` slots (mapped lazily). */
  static reserve(slotSize: number, maxRings: number): number {
    return maxRings * txRingGeometry(slotSize).bytes;
  }

  constructor(
    private readonly libc: Libc,
    private readonly arena: Arena,
    private readonly tx: PacketTx,
    private readonly stagingOff: number,
    private readonly slotSize: number,
    private readonly batch: number,
    private readonly maxRings: number,
    private readonly io: IoCounters,
  ) {
    this.geometry = txRingGeometry(slotSize);
  }

  /** Binds to the arena's buffer (after Arena.seal(); the rings are mapped into it later). */
  bind(buf: ArrayBuffer): void {
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    for (let i = 0; i < this.batch; i++) this.slotViews.push(new Uint8Array(buf, this.stagingOff + i * this.slotSize, this.slotSize));
  }

  /** Picks the slot for the next frame: the predicted ring's next free slot, else a fallback staging slot. */
  stage(): void {
    const r = this.predicted;
    if (r !== null && !r.dead) {
      const h = this.claim(r);
      if (h >= 0) {
        this.stagedRing = r;
        this.stagedOff = h + TX_DATA;
        this.stagedView = r.views[r.head];
        return;
      }
    }
    if (this.tx.pending === this.batch) this.flushFallback();
    this.stagedRing = null;
    this.stagedOff = this.stagingOff + this.tx.pending * this.slotSize;
    this.stagedView = this.slotViews[this.tx.pending];
  }

  /** Queues the frame at arena offset `off` (the staged slot, or any arena memory) on `ifIndex`. */
  send(off: number, len: number, ifIndex: number): void {
    const s = this.stagedRing;
    if (s !== null && off === this.stagedOff && s.ifIndex === ifIndex) {
      this.commit(s, len);
      return;
    }
    const r = this.ringFor(ifIndex);
    if (r !== null) {
      const h = this.claim(r);
      if (h >= 0) {
        this.u8.copyWithin(h + TX_DATA, off, off + len);
        this.commit(r, len);
        this.predicted = r;
        return;
      }
    }
    // sendmmsg reads the frame at flush time: it must sit in a fallback slot, not in a ring slot that will be reused.
    if (s !== null || off !== this.stagedOff) {
      if (this.tx.pending === this.batch) this.flushFallback();
      const so = this.stagingOff + this.tx.pending * this.slotSize;
      this.u8.copyWithin(so, off, off + len);
      off = so;
    }
    this.tx.queue(off, len, ifIndex);
  }

  /** Hands everything queued to the kernel. */
  flush(): void {
    for (const r of this.rings) if (r.pending > 0) this.kick(r);
    if (this.tx.pending > 0) this.flushFallback();
  }

  /** The header offset of `r`'s next slot if user space owns it (kicks once if not), else -1. */
  private claim(r: TxRing): number {
    const h = r.hdr[r.head];
    if (Atomics.load(this.u32, h >> 2) === TP_STATUS_AVAILABLE) return h;
    if (r.pending > 0) this.kick(r);
    return Atomics.load(this.u32, h >> 2) === TP_STATUS_AVAILABLE ? h : -1;
  }

  private commit(r: TxRing, len: number): void {
    const h = r.hdr[r.head];
    this.u32[(h + 4) >> 2] = len; // tp_len
    Atomics.store(this.u32, h >> 2, TP_STATUS_SEND_REQUEST);
    r.head = r.head + 1 === r.hdr.length ? 0 : r.head + 1;
    // A kick that met ENOBUFS/EAGAIN leaves `pending` above the batch: kick again a batch later, not per frame.
    if (++r.pending % this.batch === 0) this.kick(r);
  }

  /**
   * send(fd, NULL, 0): the kernel sends every SEND_REQUEST frame from its own head on. ENOBUFS or
   * EAGAIN leave the frames queued for the next kick; any other error (the device went away)
   * retires the ring, its queued frames are counted as errors and the interface uses sendmmsg.
   */
  private kick(r: TxRing): void {
    this.io.txCalls++;
    if (this.libc.sendAt(r.fd, 0, 0, MSG_DONTWAIT) >= 0) {
      this.io.txFrames += r.pending;
      r.pending = 0;
      return;
    }
    const e = this.libc.errno();
    this.io.lastTxErrno = e;
    if (e === ENOBUFS || e === EAGAIN) return;
    this.io.txErrors += r.pending;
    r.pending = 0;
    r.dead = true;
    this.failed.add(r.ifIndex);
    this.rings.splice(this.rings.indexOf(r), 1);
    if (this.predicted === r) this.predicted = null;
    this.libc.close(r.fd);
  }

  private flushFallback(): void {
    const c = this.tx.counters;
    const sent0 = c.sent, err0 = c.errors, calls0 = c.calls;
    this.tx.flush();
    this.io.txFrames += c.sent - sent0;
    this.io.txErrors += c.errors - err0;
    this.io.txCalls += c.calls - calls0;
    this.io.lastTxErrno = c.lastErrno;
  }

  private ringFor(ifIndex: number): TxRing | null {
    const p = this.predicted;
    if (p !== null && p.ifIndex === ifIndex) return p;
    for (const r of this.rings) if (r.ifIndex === ifIndex) return r;
    if (ifIndex <= 0 || this.failed.has(ifIndex) || this.arenaRings >= this.maxRings) return null;
    try {
      return this.open(ifIndex);
    } catch {
      this.failed.add(ifIndex);
      return null;
    }
  }

  /** Rings mapped so far (arena space is never given back: a retired ring's range stays mapped). */
  private arenaRings = 0;

  private open(ifIndex: number): TxRing {
    const libc = this.libc, g = this.geometry;
    const fd = check(libc, 'socket(AF_PACKET, SOCK_RAW, 0)', libc.socket(AF_PACKET, SOCK_RAW, 0));
    try {
      check(libc, 'setsockopt(PACKET_VERSION)', libc.setsockopt(fd, SOL_PACKET, PACKET_VERSION, intOpt(TPACKET_V2), 4));
      // A frame the kernel finds malformed is skipped instead of stopping the ring.
      check(libc, 'setsockopt(PACKET_LOSS)', libc.setsockopt(fd, SOL_PACKET, PACKET_LOSS, intOpt(1), 4));
      check(libc, 'setsockopt(PACKET_QDISC_BYPASS)', libc.setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, intOpt(1), 4));
      libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, intOpt(8 << 20), 4); // best effort
      const req = new Uint8Array(16);
      const dv = new DataView(req.buffer);
      dv.setUint32(0, g.blockSize, true);
      dv.setUint32(4, g.blockNr, true);
      dv.setUint32(8, g.frameSize, true);
      dv.setUint32(12, g.frameNr, true);
      check(libc, 'setsockopt(PACKET_TX_RING)', libc.setsockopt(fd, SOL_PACKET, PACKET_TX_RING, req, 16));
      // Protocol 0: the socket never receives; the kernel takes each frame's EtherType from its header.
      const sa = new Uint8Array(20);
      const sdv = new DataView(sa.buffer);
      sdv.setUint16(0, AF_PACKET, true);
      sdv.setUint16(2, htons(0), true);
      sdv.setInt32(4, ifIndex, true);
      check(libc, `bind(tx ring, ifindex ${ifIndex})`, libc.bind(fd, sa, 20));
      const off = this.arena.mapFd(fd, g.bytes, `transmit ring of ifindex ${ifIndex}`);
      this.arenaRings++;
      const r = new TxRing(fd, ifIndex, off, g);
      const buf = this.u8.buffer;
      for (let i = 0; i < g.frameNr; i++) r.views.push(new Uint8Array(buf, r.hdr[i] + TX_DATA, this.slotSize));
      this.rings.push(r);
      return r;
    } catch (e) {
      libc.close(fd);
      throw e;
    }
  }

  close(): void {
    for (const r of this.rings) this.libc.close(r.fd);
    this.rings.length = 0;
  }
}
