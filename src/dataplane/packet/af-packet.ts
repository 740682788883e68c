// AF_PACKET sockets for the forwarding loop (design "The packet plane", lessons from the measured
// prototype): a TPACKET_V3 receive ring per interface, bound with ETH_P_ALL (a tap, with
// PACKET_IGNORE_OUTGOING), or with the tc fast path one ring per protocol the plane handles
// (ETH_P_IP, ETH_P_IPV6, ETH_P_ARP: bound sockets see a frame after tc ingress, so not the frames
// tc forwards); either way before the nftables rules that keep the kernel away from them (netdev
// ingress for taps, IP prerouting for bound sockets); optional PACKET_FANOUT, steered by client
// address (fanout.ts); one protocol-0 send socket (it never receives) with PACKET_QDISC_BYPASS that
// sends batches with sendmmsg, one sockaddr_ll per message so a batch can leave on any interface.
//
// Everything native lives in one Arena: a reserved address range into which the rings and the
// anonymous areas (staging slots, mmsghdr/iovec arrays, pollfds) are mapped with MAP_FIXED, so a
// single ArrayBuffer (koffi.view) covers all of it and frames move with copyWithin.
import { ETH_P_ARP, ETH_P_IP, ETH_P_IPV6 } from '../../core/packet/frame.js';
import { type Libc, check, fail, htons, intOpt, writeAddr, EAGAIN, ENOBUFS } from './ffi.js';
import type { FastPathMode } from './xdp/fast-path.js';

export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const ETH_P_ALL = 0x0003;
const SOL_SOCKET = 1;
const SOL_PACKET = 263;
const SO_RCVBUFFORCE = 33;
const SO_SNDBUFFORCE = 32;
const PACKET_RX_RING = 5;
const PACKET_STATISTICS = 6;
const PACKET_VERSION = 10;
const PACKET_FANOUT = 18;
const PACKET_FANOUT_DATA = 22;
/** Fanout mode: the group's classic BPF program (fanout.ts) picks the member. */
const PACKET_FANOUT_CBPF = 6;
const PACKET_QDISC_BYPASS = 20;
const PACKET_IGNORE_OUTGOING = 23;
const TPACKET_V3 = 2;
const PACKET_FANOUT_FLAG_DEFRAG = 0x8000;
/** A group's own hook ignores the socket's PACKET_IGNORE_OUTGOING; this flag (honoured since Linux 6.2) is the group's. */
const PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000;

/** Block status bit: the block belongs to user space. */
export const TP_STATUS_USER = 1;
/** Per-frame status bits (tpacket3_hdr.tp_status). */
export const TP_STATUS_LOSING = 0x4;
export const TP_STATUS_CSUMNOTREADY = 0x8;
export const TP_STATUS_VLAN_VALID = 0x10;
export const TP_STATUS_CSUM_VALID = 0x80;
export const TP_STATUS_GSO_TCP = 0x100;

const PROT_NONE = 0;
const PROT_RW = 3;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANON = 0x20;
const MAP_NORESERVE = 0x4000;
const MAP_POPULATE = 0x8000;
const PAGE = 4096;

/** sizeof(struct mmsghdr) and sizeof(struct iovec) on 64-bit Linux. */
export const MMSGHDR_SIZE = 64;
export const IOVEC_SIZE = 16;
/** sockaddr_ll, padded to 24 bytes. */
const SOCKADDR_LL_SIZE = 24;

/** Rounds up to a page. */
export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}

/** The geometry of a TPACKET_V3 receive ring. */
export interface RingGeometry {
  /** Bytes per block (a multiple of the page size); frames of up to about this size fit. */
  readonly blockSize: number;
  readonly blockCount: number;
  /** A partly filled block is handed to user space after this many ms (latency at low rates). */
  readonly retireMs: number;
}

/** 64 blocks of 256 KiB (16 MiB per interface): the prototype's measured setting. */
export const DEFAULT_RING: RingGeometry = { blockSize: 1 << 18, blockCount: 64, retireMs: 1 };

/** A receive ring to open: its protocol (ETH_P_ALL: a tap) and geometry. */
export interface CaptureRing {
  readonly protocol: number;
  readonly geometry: RingGeometry;
}

/**
 * How the plane receives: ETH_P_ALL taps, or (the tc fast path, which taps would see ahead of)
 * sockets bound to the EtherTypes it handles. The nft exclusion's hook follows from it (nft.ts).
 */
export type CaptureMode = 'tap' | 'bound';

/** The one place that decides the capture mode: bound sockets for the tc fast path, taps otherwise. */
export function captureModeFor(fastPath: FastPathMode | undefined): CaptureMode {
  return fastPath === 'tc' ? 'bound' : 'tap';
}

/**
 * The receive rings one interface needs: one tap, or, bound, one ring per EtherType the plane
 * handles (IPv4, IPv6, ARP; ARP's ring small, it carries only requests and replies).
 */
export function captureRings(g: RingGeometry, mode: CaptureMode): CaptureRing[] {
  if (mode === 'tap') return [{ protocol: ETH_P_ALL, geometry: g }];
  return [
    { protocol: ETH_P_IP, geometry: g },
    { protocol: ETH_P_IPV6, geometry: g },
    { protocol: ETH_P_ARP, geometry: { ...g, blockCount: Math.min(g.blockCount, 4) } },
  ];
}

/**
 * One reserved address range that native areas are mapped into at fixed offsets. Lay it out
 * with reserve(), map the pieces, then call seal() to get the one ArrayBuffer over all of it.
 */
export class Arena {
  private used = 0;
  private buf: ArrayBuffer | undefined;

  private constructor(private readonly libc: Libc, readonly base: number, readonly size: number) {}

  /** Reserves `size` bytes of address space (nothing is touched yet). */
  static reserve(libc: Libc, size: number): Arena {
    const len = pageAlign(size);
    const base = libc.mmap(0, len, PROT_NONE, MAP_PRIVATE | MAP_ANON | MAP_NORESERVE, -1, 0);
    if (base === -1) fail(libc, `mmap(reserve ${len} bytes)`);
    return new Arena(libc, base, len);
  }

  private take(len: number, what: string): number {
    const l = pageAlign(len);
    if (this.used + l > this.size) throw new Error(`Cannot map ${what} as the arena is full: ${this.used + l} > ${this.size} bytes`);
    const off = this.used;
    this.used += l;
    return off;
  }

  /** Maps a socket's ring (`len` bytes) and returns its offset in the arena. */
  mapFd(fd: number, len: number, what: string): number {
    const off = this.take(len, what);
    const r = this.libc.mmap(this.base + off, len, PROT_RW, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0);
    if (r === -1) fail(this.libc, `mmap(${what})`);
    return off;
  }

  /** Maps zeroed private memory and returns its offset. */
  mapAnon(len: number, what: string): number {
    const off = this.take(len, what);
    const r = this.libc.mmap(this.base + off, pageAlign(len), PROT_RW, MAP_PRIVATE | MAP_ANON | MAP_FIXED, -1, 0);
    if (r === -1) fail(this.libc, `mmap(${what})`);
    return off;
  }

  /** The ArrayBuffer over everything mapped so far (call once the layout is complete). */
  seal(): ArrayBuffer {
    if (!this.buf) this.buf = this.libc.view(this.base, this.used);
    return this.buf;
  }

  /** Unmaps the whole range (the rings go away with their sockets' last mapping). */
  free(): void {
    this.libc.munmap(this.base, this.size);
  }
}

/** Packet counts from PACKET_STATISTICS (the kernel resets them on every read). */
export interface RingStats {
  packets: number;
  drops: number;
  freezes: number;
}

function sockaddrLl(ifIndex: number, proto: number): Uint8Array {
  const b = new Uint8Array(20);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, proto, false);
  dv.setInt32(4, ifIndex, true);
  return b;
}

/** Fanout settings: one group id shared by the workers' sockets on an interface, and the group's program (PACKET_FANOUT_CBPF, fanout.ts). */
export interface FanoutConfig {
  readonly groupId: number;
  readonly program: Uint8Array;
}

/** A bound TPACKET_V3 receive ring on one interface. */
export class RxRing {
  /** Offset of the ring in the arena, and the block being read next. */
  offset = 0;
  block = 0;

  private constructor(
    private readonly libc: Libc,
    readonly fd: number,
    readonly ifIndex: number,
    readonly geometry: RingGeometry,
    /** ETH_P_ALL (a tap) or the one EtherType this ring receives. */
    readonly protocol: number,
  ) {}

  /** Bytes the ring needs in the arena. */
  static size(g: RingGeometry): number {
    return g.blockSize * g.blockCount;
  }

  /** Opens the socket for `protocol` (ETH_P_ALL: a tap) and sets the ring up; map it with attach() next. */
  static open(libc: Libc, ifIndex: number, g: RingGeometry, protocol = ETH_P_ALL): RxRing {
    if (g.blockSize % PAGE !== 0) throw new Error(`Cannot set up the receive ring as blockSize must be a multiple of ${PAGE}: current value is ${g.blockSize}`);
    // A tap receives from the socket call on (until bind narrows it to one device); a bound ring
    // opens with protocol 0, which receives nothing until bind() names the device and protocol.
    const tap = protocol === ETH_P_ALL;
    const fd = check(libc, `socket(AF_PACKET, SOCK_RAW, ${tap ? 'ETH_P_ALL' : '0'})`, libc.socket(AF_PACKET, SOCK_RAW, tap ? htons(ETH_P_ALL) : 0));
    const ring = new RxRing(libc, fd, ifIndex, g, protocol);
    try {
      ring.opt(SOL_PACKET, PACKET_VERSION, TPACKET_V3, 'PACKET_VERSION');
      // Our own transmissions must not come back into the ring (they would be forwarded again);
      // only taps see outgoing frames at all.
      if (tap) ring.opt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'PACKET_IGNORE_OUTGOING');
      ring.opt(SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20, 'SO_RCVBUFFORCE');
      const req = new Uint8Array(28);
      const dv = new DataView(req.buffer);
      const frameSize = 2048;
      dv.setUint32(0, g.blockSize, true);
      dv.setUint32(4, g.blockCount, true);
      dv.setUint32(8, frameSize, true);
      dv.setUint32(12, (g.blockSize / frameSize) * g.blockCount, true);
      dv.setUint32(16, g.retireMs, true);
      check(libc, 'setsockopt(PACKET_RX_RING)', libc.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req, 28));
    } catch (e) {
      libc.close(fd);
      throw e;
    }
    return ring;
  }

  private opt(level: number, name: number, v: number, what: string): void {
    check(this.libc, `setsockopt(${what})`, this.libc.setsockopt(this.fd, level, name, intOpt(v), 4));
  }

  /** Maps the ring into the arena, binds to the interface and protocol and joins the fanout group. */
  attach(arena: Arena, fanout: FanoutConfig | undefined): void {
    const what = `ifindex ${this.ifIndex}, protocol 0x${this.protocol.toString(16).padStart(4, '0')}`;
    this.offset = arena.mapFd(this.fd, RxRing.size(this.geometry), `receive ring of ${what}`);
    check(this.libc, `bind(${what})`, this.libc.bind(this.fd, sockaddrLl(this.ifIndex, this.protocol), 20));
    if (fanout) {
      // Fanout id in the low 16 bits, mode and flags above; DEFRAG keeps fragments of one datagram together.
      // IGNORE_OUTGOING keeps the kernel's own sends out of the group (taps), so the fanout
      // program only sees received frames, whose data starts at the network header. Kernels
      // before 6.2 take the flag without a word and without honouring it (they never checked
      // flag bits): the group then hands outgoing frames to some member too, which the
      // forwarder drops by their packet type (PACKET_OUTGOING), so nothing is forwarded twice.
      const arg = (fanout.groupId & 0xffff) | ((PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_DEFRAG | PACKET_FANOUT_FLAG_IGNORE_OUTGOING) << 16);
      this.opt(SOL_PACKET, PACKET_FANOUT, arg, 'PACKET_FANOUT');
      this.steer(fanout.program);
    }
  }

  /**
   * Gives the fanout group (of which this ring is a member) its program, replacing the one it
   * had; the kernel swaps it atomically for the whole group. The kernel copies the instructions,
   * so they live in native memory for the call only.
   */
  steer(program: Uint8Array): void {
    const { libc } = this;
    const size = pageAlign(program.length);
    const mem = libc.mmap(0, size, PROT_RW, MAP_PRIVATE | MAP_ANON, -1, 0);
    if (mem === -1) fail(libc, 'mmap(fanout program)');
    try {
      new Uint8Array(libc.view(mem, size)).set(program);
      // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (16 bytes on 64-bit).
      const fprog = new Uint8Array(16);
      const dv = new DataView(fprog.buffer);
      dv.setUint16(0, program.length / 8, true);
      dv.setBigUint64(8, BigInt(mem), true);
      check(libc, 'setsockopt(PACKET_FANOUT_DATA)', libc.setsockopt(this.fd, SOL_PACKET, PACKET_FANOUT_DATA, fprog, 16));
    } finally {
      libc.munmap(mem, size);
    }
  }

  /** Reads and resets PACKET_STATISTICS (tpacket_stats_v3). */
  stats(): RingStats {
    const b = new Uint8Array(12);
    const l = new Uint8Array(4);
    new DataView(l.buffer).setUint32(0, 12, true);
    if (this.libc.getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, b, l) < 0) return { packets: 0, drops: 0, freezes: 0 };
    const dv = new DataView(b.buffer);
    return { packets: dv.getUint32(0, true), drops: dv.getUint32(4, true), freezes: dv.getUint32(8, true) };
  }

  close(): void {
    this.libc.close(this.fd);
  }
}

/** Send-side counters. */
export interface TxCounters {
  sent: number;
  /** Frames the kernel refused (ENOBUFS, EMSGSIZE, interface down...). */
  errors: number;
  /** sendmmsg calls. */
  calls: number;
  /** errno of the last refusal (0 = none). */
  lastErrno: number;
}

/**
 * A protocol-0 AF_PACKET socket that sends batches with sendmmsg. Messages are queued as
 * (native address, length, ifIndex); the iovecs point into the arena, so nothing is copied
 * in JavaScript and the kernel reads each frame during the one sendmmsg call.
 */
export class PacketTx {
  readonly counters: TxCounters = { sent: 0, errors: 0, calls: 0, lastErrno: 0 };
  private queued = 0;
  private msgOff = 0;
  private u32: Uint32Array = new Uint32Array(0);
  private u8: Uint8Array = new Uint8Array(0);

  private constructor(private readonly libc: Libc, readonly fd: number, readonly batch: number, private readonly base: number) {}

  /** Arena bytes for a batch of `n`. */
  static size(n: number): number {
    return n * (MMSGHDR_SIZE + IOVEC_SIZE + SOCKADDR_LL_SIZE);
  }

  /** Opens the send socket and lays its message array out in the arena. */
  static open(libc: Libc, arena: Arena, batch: number): PacketTx {
    const fd = check(libc, 'socket(AF_PACKET, SOCK_RAW, 0)', libc.socket(AF_PACKET, SOCK_RAW, 0));
    try {
      check(libc, 'setsockopt(PACKET_QDISC_BYPASS)', libc.setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, intOpt(1), 4));
      libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, intOpt(8 << 20), 4); // best effort
      const tx = new PacketTx(libc, fd, batch, arena.base);
      tx.msgOff = arena.mapAnon(PacketTx.size(batch), 'sendmmsg array');
      return tx;
    } catch (e) {
      libc.close(fd);
      throw e;
    }
  }

  /** Fills the constant parts of the messages (call after Arena.seal()). */
  bind(buf: ArrayBuffer): void {
    this.u32 = new Uint32Array(buf);
    this.u8 = new Uint8Array(buf);
    const n = this.batch;
    for (let i = 0; i < n; i++) {
      const m = this.msgOff + i * MMSGHDR_SIZE;
      const iov = this.msgOff + n * MMSGHDR_SIZE + i * IOVEC_SIZE;
      const sa = this.msgOff + n * (MMSGHDR_SIZE + IOVEC_SIZE) + i * SOCKADDR_LL_SIZE;
      // struct msghdr: name(0) namelen(8) iov(16) iovlen(24) control(32) controllen(40) flags(48); msg_len(56)
      writeAddr(this.u32, m >> 2, this.base + sa);
      this.u32[(m + 8) >> 2] = 20;
      writeAddr(this.u32, (m + 16) >> 2, this.base + iov);
      this.u32[(m + 24) >> 2] = 1;
      this.u32[(m + 28) >> 2] = 0;
      this.u8[sa] = AF_PACKET & 0xff;
      this.u8[sa + 1] = AF_PACKET >> 8;
    }
  }

  /** Frames waiting for flush(). */
  get pending(): number {
    return this.queued;
  }

  /**
   * Queues the frame at native address `addr` (arena offset `off`, used to read its EtherType)
   * for `ifIndex`. The caller flushes when `pending === batch`.
   */
  queue(off: number, len: number, ifIndex: number): void {
    const i = this.queued++;
    const n = this.batch;
    const iov = this.msgOff + n * MMSGHDR_SIZE + i * IOVEC_SIZE;
    const sa = this.msgOff + n * (MMSGHDR_SIZE + IOVEC_SIZE) + i * SOCKADDR_LL_SIZE;
    writeAddr(this.u32, iov >> 2, this.base + off);
    this.u32[(iov + 8) >> 2] = len;
    this.u32[(iov + 12) >> 2] = 0;
    // sll_protocol = the frame's EtherType, already in network order in the frame.
    this.u8[sa + 2] = this.u8[off + 12];
    this.u8[sa + 3] = this.u8[off + 13];
    this.u32[(sa + 4) >> 2] = ifIndex;
  }

  /**
   * Sends everything queued. A frame the kernel refuses is counted and skipped; on ENOBUFS or
   * EAGAIN the rest of the batch is counted as dropped (the queue is full; retrying would spin).
   */
  flush(): void {
    const n = this.queued;
    let done = 0;
    while (done < n) {
      this.counters.calls++;
      const r = this.libc.sendmmsg(this.fd, this.base + this.msgOff + done * MMSGHDR_SIZE, n - done, 0);
      if (r > 0) {
        done += r;
        this.counters.sent += r;
        continue;
      }
      const e = this.libc.errno();
      this.counters.lastErrno = e;
      if (e === ENOBUFS || e === EAGAIN) {
        this.counters.errors += n - done;
        break;
      }
      this.counters.errors++;
      done++;
    }
    this.queued = 0;
  }

  close(): void {
    this.libc.close(this.fd);
  }
}
