// The forwarding loop of one worker (design "The packet plane"): TPACKET_V3 blocks are read through
// one ArrayBuffer over the arena; each frame is copied (memmove) into the staging slot that matches
// the next sendmmsg entry, fixed up (partial checksum, GSO), shown to the ARP/NDP responder and
// then to the engine; Forward/Reply verdicts are queued and sent in batches. Nothing is allocated
// per frame and there is no syscall per frame. poll() only when every ring is empty (100 ms), so a
// stop or a message is noticed within 100 ms even when idle (at once with the eventfd).
import { receiveMessageOnPort } from 'node:worker_threads';
import { type Verdict, VerdictKind, newVerdict } from '../../core/engine-contract.js';
import {
  Arena, PacketTx, RxRing, captureModeFor, captureRings, TP_STATUS_CSUMNOTREADY, TP_STATUS_GSO_TCP, TP_STATUS_USER, pageAlign,
} from './af-packet.js';
import { NEIGH_PASS, NEIGH_REPLIED, type NeighbourResponder } from './arp.js';
import { ForwarderControl } from './forwarder-control.js';
import { type Libc, check } from './ffi.js';
import { FIX_OK, FrameFixup } from './frame-fixup.js';
import { SEG_SLOTS, SuperframeCutter, looksTcp } from './superframes.js';
import type { NeighbourCache } from './neighbour.js';
import { NeighbourTalk } from './neighbour-talk.js';
import type { LinuxNetContext } from './net-context.js';
import { FlowOffloader } from './offload.js';
import { HeldFrames, awaitsNeighbour } from './held-frames.js';
import type { BpfFastPath } from './xdp/fast-path.js';
import {
  CTL_MAIL, CTL_STOP, type FromWorker, type IoCounters, type PacketEngine, type ToWorker, type WorkerInit, type WorkerSnapshot,
  newIoCounters,
} from './worker-protocol.js';

const POLLIN = 1;
const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;
/** Blocks taken from one ring before looking at the others and at the mailbox. */
const BLOCKS_PER_TURN = 8;
/** sll_pkttype of the sockaddr_ll after a tpacket3_hdr (TPACKET_ALIGN(sizeof hdr) = 48, then 10 bytes in). */
const SLL_PKTTYPE = 48 + 10;
const PACKET_OUTGOING = 4;
const TICK_MS = 100;
/**
 * Fast-path flows credited per 100 ms tick: every flow once a second up to 20,480 flows, 4 % of
 * the loop at most (about 2 µs per map read); larger tables take proportionally longer per pass.
 */
const OFFLOAD_SYNC_PER_TICK = 2048;

/** Everything one worker owns; run() returns when the stop flag is set. */
export class Forwarder {
  readonly io: IoCounters = newIoCounters();
  private readonly ctl: Int32Array;
  private readonly arena: Arena;
  private readonly rings: RxRing[] = [];
  private readonly tx: PacketTx;
  private readonly eventFd: number;
  private buf!: ArrayBuffer;
  private u8!: Uint8Array;
  private u32!: Uint32Array;
  private u16!: Uint16Array;
  private slotViews: Uint8Array[] = [];
  private readonly slotSize: number;
  private stagingOff = 0;
  private pollOff = 0;
  private pollCount = 0;
  private readonly verdict: Verdict = newVerdict();
  private readonly fixup = new FrameFixup();
  private readonly responder: NeighbourResponder;
  private readonly control: ForwarderControl;
  private mailSeen = 0;
  private nextTickMs = 0;
  private nextSnapshotMs = 0;
  private readonly talk: NeighbourTalk;
  private readonly mtuOf = new Map<number, number>();
  private readonly cutter: SuperframeCutter;
  private readonly offloader: FlowOffloader | undefined;
  /** Frames waiting for their next hop's MAC. */
  private readonly held = new HeldFrames();
  /** The neighbour cache's version the held frames were last checked against. */
  private heldVersion = -1;

  constructor(
    private readonly libc: Libc,
    private readonly init: WorkerInit,
    private readonly engine: PacketEngine,
    private readonly net: LinuxNetContext,
    private readonly neighbours: NeighbourCache,
    private readonly post: (m: FromWorker) => void,
    /** The engine's clock, set here once per ring block and loop turn (a performance.now() per packet cost ~3 % of the loop). */
    private readonly clock: { ms: number } = { ms: 0 },
    /** The kernel fast path (XDP or tcx), attached to the capture interfaces (ADR 0005); closed with the forwarder. */
    private readonly fast?: BpfFastPath,
  ) {
    // Only the tc program can deliver into a veth's peer (bpf_redirect_peer is a tc-ingress helper).
    this.offloader = fast && new FlowOffloader(fast, engine, fast.mode === 'tc');
    this.ctl = new Int32Array(init.control);
    this.talk = new NeighbourTalk(init, net, neighbours, { emit: (i, b) => this.emit(i, b), flush: () => { if (this.tx.pending > 0) this.flush(); } }, this.io);
    this.control = new ForwarderControl({
      init, engine, net, neighbours, post, io: this.io, offloader: this.offloader, talk: this.talk,
      onNetChanged: () => this.refreshMtus(),
      collectIo: () => {
        const h = this.held.counters;
        Object.assign(this.io, { neighHeld: h.held, neighReleased: h.released, neighHeldDropped: h.dropped });
        for (const r of this.rings) {
          const s = r.stats();
          this.io.ringDrops += s.drops;
          this.io.ringFreezes += s.freezes;
        }
      },
      steer: (program) => {
        try {
          for (const r of this.rings) r.steer(program);
        } catch (e) {
          // The groups keep the previous program: new VIPs' connections may land on another worker.
          console.error(`tsvs packet worker ${init.index}: ${(e as Error).message}`);
        }
      },
    });
    this.responder = this.control.responder;
    this.refreshMtus();
    let maxMtu = 1500;
    for (const c of init.interfaces) maxMtu = Math.max(maxMtu, this.mtuOf.get(c.ifIndex) ?? 1500);
    this.slotSize = Math.max(2048, Math.ceil((maxMtu + 64) / 64) * 64);
    const B = init.batch;
    const capture = captureRings(init.ring, captureModeFor(fast?.mode));
    const ringBytes = capture.reduce((n, c) => n + RxRing.size(c.geometry), 0);
    // pollfds (8 bytes each: every ring, then the eventfd), then 8 bytes to drain the eventfd into.
    const pollBytes = pageAlign((init.interfaces.length * capture.length + 1) * 8 + 8);
    const total = init.interfaces.length * ringBytes + pageAlign(B * this.slotSize) + pageAlign(SEG_SLOTS * this.slotSize) +
      pageAlign(PacketTx.size(B)) + pollBytes;
    this.arena = Arena.reserve(libc, total);
    try {
      for (const c of init.interfaces) for (const r of capture) this.rings.push(RxRing.open(libc, c.ifIndex, r.geometry, r.protocol));
      this.tx = PacketTx.open(libc, this.arena, B);
      // A fanout group belongs to one device and protocol: one group id per ring.
      const program = this.control.steering;
      this.rings.forEach((r, i) => r.attach(this.arena, init.fanout && program && { groupId: (init.fanout.groupId + i) & 0xffff, program }));
      this.stagingOff = this.arena.mapAnon(B * this.slotSize, 'staging slots');
      this.cutter = new SuperframeCutter(this.fixup, this.arena.mapAnon(SEG_SLOTS * this.slotSize, 'segment slots'), this.slotSize);
      this.pollOff = this.arena.mapAnon(pollBytes, 'pollfds');
      this.eventFd = check(libc, 'eventfd', libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    } catch (e) {
      for (const r of this.rings) r.close();
      this.arena.free();
      throw e;
    }
    this.seal();
  }

  /** The eventfd the main thread writes to wake the worker. */
  get wakeFd(): number {
    return this.eventFd;
  }

  private seal(): void {
    this.buf = this.arena.seal();
    this.u8 = new Uint8Array(this.buf);
    this.u32 = new Uint32Array(this.buf);
    this.u16 = new Uint16Array(this.buf);
    this.tx.bind(this.buf);
    for (let i = 0; i < this.init.batch; i++) this.slotViews.push(new Uint8Array(this.buf, this.stagingOff + i * this.slotSize, this.slotSize));
    // pollfd { int fd; short events; short revents; }: every ring, then the eventfd.
    const fds = [...this.rings.map((r) => r.fd), this.eventFd];
    for (let i = 0; i < fds.length; i++) {
      this.u32[(this.pollOff + i * 8) >> 2] = fds[i];
      this.u16[(this.pollOff + i * 8 + 4) >> 1] = POLLIN;
    }
    this.pollCount = fds.length;
  }

  private refreshMtus(): void {
    const { interfaces } = this.net.current();
    this.mtuOf.clear();
    for (const i of interfaces) this.mtuOf.set(i.ifIndex, i.mtu);
    this.offloader?.setInterfaces(interfaces);
  }

  /** Runs until the stop flag is set; then releases everything. */
  run(): void {
    const now0 = performance.now();
    this.nextTickMs = now0 + TICK_MS;
    this.nextSnapshotMs = now0 + this.init.snapshotEveryMs;
    this.talk.startAnnouncing(now0);
    try {
      this.loop();
    } finally {
      this.post({ type: 'stopped', index: this.init.index, snapshot: this.snapshot() });
      this.close();
    }
  }

  private loop(): void {
    const rings = this.rings;
    const u32 = this.u32;
    for (;;) {
      let worked = false;
      for (let r = 0; r < rings.length; r++) {
        const ring = rings[r];
        const g = ring.geometry;
        for (let n = 0; n < BLOCKS_PER_TURN; n++) {
          const bo = ring.offset + ring.block * g.blockSize;
          if ((Atomics.load(u32, (bo + 8) >> 2) & TP_STATUS_USER) === 0) break;
          this.block(bo, ring.ifIndex);
          Atomics.store(u32, (bo + 8) >> 2, 0); // TP_STATUS_KERNEL: hand the block back
          ring.block = ring.block + 1 === g.blockCount ? 0 : ring.block + 1;
          worked = true;
        }
      }
      if (this.releaseDue()) this.releaseHeld(this.clock.ms);
      if (this.tx.pending > 0) this.flush();
      if (Atomics.load(this.ctl, CTL_STOP) !== 0) return;
      const now = performance.now();
      this.clock.ms = now;
      if (Atomics.load(this.ctl, CTL_MAIL) !== this.mailSeen) this.drainMail();
      // A neighbour another worker learned (mail) lets held frames go before the next ring turn's.
      if (this.releaseDue()) this.releaseHeld(this.clock.ms);
      if (now >= this.nextTickMs) this.housekeeping(now);
      if (!worked) {
        this.io.polls++;
        this.libc.poll(this.arena.base + this.pollOff, this.pollCount, 100);
        // Reset the eventfd counter (non-blocking; EAGAIN when nobody wrote).
        this.libc.readAt(this.eventFd, this.arena.base + this.pollOff + this.pollCount * 8, 8);
        this.clock.ms = performance.now();
      }
    }
  }

  /** One TPACKET_V3 block at arena offset `bo`. */
  private block(bo: number, ifIndex: number): void {
    const u32 = this.u32, u16 = this.u16;
    const num = u32[(bo + 12) >> 2];
    let p = bo + u32[(bo + 16) >> 2];
    const now = performance.now();
    this.clock.ms = now;
    // Frames longer than the interface MTU allows: TCP superframes to cut even when they fit a slot.
    const maxFrame = (this.mtuOf.get(ifIndex) ?? 1500) + 14;
    for (let i = 0; i < num; i++) {
      // tpacket3_hdr: next_offset(0) sec(4) nsec(8) snaplen(12) len(16) status(20) mac(24,u16) net(26,u16)
      const snap = u32[(p + 12) >> 2];
      const status = u32[(p + 20) >> 2];
      const fo = p + u16[(p + 24) >> 1];
      // A send of ours (or the kernel's) that a fanout group handed over anyway (af-packet.ts: kernels before 6.2).
      if (this.u8[p + SLL_PKTTYPE] !== PACKET_OUTGOING) {
        this.io.rxFrames++;
        this.io.rxBytes += snap;
        if (snap > this.slotSize || (snap > maxFrame && ((status & TP_STATUS_GSO_TCP) !== 0 || looksTcp(this.u8, fo)))) {
          this.oversized(fo, snap, status, ifIndex, now);
        } else this.frame(fo, snap, status, ifIndex, now, false);
      }
      const next = u32[p >> 2];
      if (next === 0) break;
      p += next;
    }
  }

  /** Copies the frame at `src` into the next slot and handles it. */
  private frame(src: number, len: number, status: number, ifIndex: number, now: number, checksummed: boolean): void {
    // A neighbour was just learned (an ARP/NDP answer in this block): its held frames go first, in order.
    if (this.releaseDue()) this.releaseHeld(now);
    if (this.tx.pending === this.init.batch) this.flush();
    const slot = this.tx.pending;
    const so = this.stagingOff + slot * this.slotSize;
    const u8 = this.u8;
    u8.copyWithin(so, src, src + len);
    if (!checksummed && (status & TP_STATUS_CSUMNOTREADY) !== 0) {
      if (this.fixup.completeChecksum(u8, so, len) === FIX_OK) this.io.csumCompleted++;
    }
    const nr = this.responder.handle(u8, so, len, this.slotSize, ifIndex, now);
    if (nr !== NEIGH_PASS) {
      if (nr === NEIGH_REPLIED) this.tx.queue(so, this.responder.replyLen, ifIndex);
      return;
    }
    const v = this.verdict;
    const view = this.slotViews[slot];
    this.net.takePending();
    try {
      this.engine.process(view, len, ifIndex, v);
    } catch {
      this.io.engineErrors++;
      return;
    }
    switch (v.kind) {
      case VerdictKind.Forward:
      case VerdictKind.Reply: {
        const out = v.out;
        const n = v.outLength;
        if (v.ifIndex <= 0 || n <= 0 || n > this.slotSize) {
          this.io.engineErrors++;
          return;
        }
        if (v.kind === VerdictKind.Forward) this.io.forwarded++;
        else this.io.replies++;
        if (awaitsNeighbour(out, 0)) {
          // Toward a next hop being resolved: held until its MAC is known. A placeholder MAC without
          // a pending hop on that interface would be an engine bug: never sent.
          const pending = this.net.takePending();
          if (pending !== undefined && pending.ifIndex === v.ifIndex) this.held.hold(pending, out.subarray(0, n), now);
          else this.io.engineErrors++;
          return;
        }
        if (out.buffer === this.buf) {
          this.tx.queue(out.byteOffset, n, v.ifIndex);
          // Rewritten in place (direct routing): the frame shows the fast path what to install.
          if (this.offloader !== undefined && v.conn >= 0) {
            this.offloader.forwarded(v.conn, v.offloadable, this.u8, out.byteOffset, v.ifIndex, this.mtuOf.get(v.ifIndex) ?? 1500);
          }
        } else {
          // The engine built the frame in its own memory: copy it into our slot (rare: replies, encapsulation).
          view.set(out.length === n ? out : out.subarray(0, n), 0);
          this.tx.queue(so, n, v.ifIndex);
        }
        return;
      }
      case VerdictKind.Drop:
        this.io.engineDrops++;
        return;
      default:
        this.io.local++;
    }
  }

  /**
   * A frame larger than a slot, or a TCP frame longer than the MTU allows (a superframe that fits a
   * slot: sent as is, the kernel would refuse it with EMSGSIZE): a GSO/GRO TCP superframe is cut into
   * segments, anything else is counted.
   */
  private oversized(src: number, len: number, status: number, ifIndex: number, now: number): void {
    const c = this.cutter;
    const n = c.cut(this.u8, src, len, (status & TP_STATUS_GSO_TCP) !== 0, this.mtuOf.get(ifIndex) ?? 1500);
    if (n < 0) {
      this.io.oversize++;
      return;
    }
    this.io.gsoFrames++;
    this.io.gsoSegments += n;
    for (let i = 0; i < n; i++) this.frame(c.starts[i], c.lens[i], 0, ifIndex, now, true);
  }

  private flush(): void {
    const c = this.tx.counters;
    const sent0 = c.sent, err0 = c.errors, calls0 = c.calls;
    this.tx.flush();
    this.io.txFrames += c.sent - sent0;
    this.io.txErrors += c.errors - err0;
    this.io.txCalls += c.calls - calls0;
    this.io.lastTxErrno = c.lastErrno;
  }

  // ------------------------------------------------------------ control side (never per packet)

  private drainMail(): void {
    this.mailSeen = Atomics.load(this.ctl, CTL_MAIL);
    for (;;) {
      const m = receiveMessageOnPort(this.init.port);
      if (!m) return;
      this.control.onMessage(m.message as ToWorker);
    }
  }

  /** Frames are held and the neighbour cache changed since they were last checked (an answer came, here, from another worker or from the kernel's table). */
  private releaseDue(): boolean {
    return this.held.size > 0 && this.neighbours.version !== this.heldVersion;
  }

  /** Sends the held frames whose neighbour is known now; drops those that waited too long. */
  private releaseHeld(now: number): void {
    this.heldVersion = this.neighbours.version;
    if (this.held.size > 0) this.held.release(this.neighbours, (f, ifIndex) => this.emit(ifIndex, (u8, off) => (u8.set(f, off), f.length)), now);
  }

  private housekeeping(now: number): void {
    this.nextTickMs = now + TICK_MS;
    // The frames that waited too long.
    this.releaseHeld(now);
    // Credits what the fast path forwarded (stats, conn timers) and retires its finished flows.
    this.offloader?.sync(OFFLOAD_SYNC_PER_TICK);
    try {
      this.engine.tick();
    } catch {
      this.io.engineErrors++;
    }
    this.talk.tick(now, this.control.vips.list);
    if (now >= this.nextSnapshotMs) {
      this.nextSnapshotMs = now + this.init.snapshotEveryMs;
      this.neighbours.expire(now);
      this.post({ type: 'snapshot', seq: 0, snapshot: this.snapshot() });
    }
  }

  /** Queues a frame built by `build(u8, off)` in the next staging slot (returns its length) on ifIndex. */
  private emit(ifIndex: number, build: (u8: Uint8Array, off: number) => number): void {
    if (this.tx.pending === this.init.batch) this.flush();
    const so = this.stagingOff + this.tx.pending * this.slotSize;
    const n = build(this.u8, so);
    if (n > 0 && n <= this.slotSize) this.tx.queue(so, n, ifIndex);
  }

  /** The worker's report (also reads the rings' PACKET_STATISTICS, which resets them). */
  snapshot(): WorkerSnapshot {
    return this.control.snapshot();
  }

  private close(): void {
    this.offloader?.clear();
    this.fast?.close();
    for (const r of this.rings) r.close();
    this.tx.close();
    this.libc.close(this.eventFd);
    this.arena.free();
  }
}
