// The UDP proxy's sockets as raw descriptors on the native loop (udp-io.ts; the TCP side is
// docs/adr/0004-native-tcp-io.md). A session's upstream socket is a number and a small handler
// object instead of a dgram.Socket with its handle, emitter and listeners: sessions live until the
// udp timeout or an eviction, so under DNS load (a fresh source port per query) every one of them
// used to be copied by young-generation collections (bench/udp-dns.sh). Datagrams are received
// into one staging buffer and sent on from it: a client's datagram goes to its real server, and a
// reply to its client, without a copy into the JS heap. The payload lands ROOM bytes into the
// buffer, so a PROXY v2 DGRAM header is written in front of it in place.
import { type IpAddress, formatIp, parseIp } from '../../../core/net/addr.js';
import type { FlowAddrs } from '../engine.js';
import type { ReplyAddr, UdpIo, UdpSender, UdpServiceSocket, UdpUpstreamSocket, UpstreamEvents } from '../udp-io.js';
import { type FdHandler, NativeLoop } from './loop.js';
import { AcceptedFlow, SOCKADDR_MAX, decodeSockaddr, encodeSockaddr, ipv4SockaddrKey, writeIpv4Sockaddr } from './sockaddr.js';
import { AF_INET, AF_INET6, EAGAIN, EINTR, EPOLLIN, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, type SockSys, errnoName } from './sys.js';

/** Bytes in front of a received payload, for a PROXY v2 DGRAM header (IPv6: 52 bytes). */
const ROOM = 64;
/** The largest UDP payload (65,507 over IPv4) fits. */
const MAX_DGRAM = 65536;
/**
 * Staging layout: [ROOM][received payload][outgoing copy: ROOM + payload][sender's sockaddr][its
 * length][a reply's sockaddr].
 */
const SEND_OFF = ROOM + MAX_DGRAM;
const SA_OFF = SEND_OFF + ROOM + MAX_DGRAM;
const SALEN_OFF = SA_OFF + SOCKADDR_MAX;
const TO_OFF = SALEN_OFF + 4;
const STAGING = TO_OFF + SOCKADDR_MAX;
/** Datagrams read per readiness event of one socket (level-triggered: the rest come next round). */
const RECV_BATCH = 64;

/**
 * The raw-descriptor UDP path of one process (one staging buffer: the loop runs one handler at a
 * time). A datagram that finds a socket's send buffer full is dropped and counted as a send error,
 * as the kernel drops it further on; Node's dgram would queue it in user space.
 */
export class NativeUdpIo implements UdpIo {
  private static instance: NativeUdpIo | undefined;

  /** The process's native UDP path (created on first use, like the loop it runs on). */
  static shared(sys: SockSys): NativeUdpIo {
    NativeUdpIo.instance ??= new NativeUdpIo(sys);
    return NativeUdpIo.instance;
  }

  readonly kind = 'native';
  readonly loop: NativeLoop;
  readonly mem: number;
  readonly ab: ArrayBuffer;
  readonly u8: Uint8Array;
  /** The same memory as a Buffer, for latin1 keys. */
  readonly bytes: Buffer;
  readonly dv: DataView;

  private constructor(readonly sys: SockSys) {
    this.loop = NativeLoop.shared(sys);
    this.mem = sys.alloc(STAGING);
    if (this.mem === 0) throw new Error('Cannot allocate the native UDP buffers: out of memory');
    this.ab = sys.view(this.mem, STAGING);
    this.u8 = new Uint8Array(this.ab);
    this.bytes = Buffer.from(this.ab);
    this.dv = new DataView(this.ab);
  }

  serviceSocket(host: string, port: number, onError: () => void): UdpServiceSocket {
    return new NativeServiceSocket(this, host, port, onError);
  }

  upstream(addr: IpAddress, _host: string, port: number, events: UpstreamEvents): UdpUpstreamSocket | undefined {
    const { sys } = this;
    const fd = sys.socket(addr.family === 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return undefined;
    // A UDP connect only records the peer (and picks the source address and port): it completes at once.
    const sa = encodeSockaddr(addr, port);
    const u = new NativeUpstream(this, fd, events);
    if (sys.connect(fd, sa, sa.length) < 0 || this.loop.add(fd, EPOLLIN, u) !== 0) { sys.close(fd); return undefined; }
    return u;
  }

  /** The payload received at ROOM, `n` bytes long, as a Buffer over the staging memory (no copy). */
  received(n: number): Buffer {
    return Buffer.from(this.ab, ROOM, n);
  }

  /**
   * The native address of `data` with `header` in front of it: in place when `data` is the
   * received payload, else both are copied to the outgoing area. Returns the address; the length
   * is header + data.
   */
  stage(data: Buffer, header: Buffer | undefined): number {
    const hl = header ? header.length : 0;
    let off: number;
    if (data.buffer === this.ab && data.byteOffset >= hl && data.byteOffset <= SEND_OFF) {
      off = data.byteOffset - hl;
    } else {
      off = SEND_OFF + ROOM - hl;
      this.u8.set(data, SEND_OFF + ROOM);
    }
    if (header) this.u8.set(header, off);
    return this.mem + off;
  }
}

/** The sender of the datagram in the staging buffer (one per service socket, refilled per datagram). */
class StagedSender implements UdpSender {
  key: string | number = 0;
  private len = 0;

  constructor(private readonly io: NativeUdpIo) {}

  /** Reads the sockaddr recvfrom left; false for a family we do not serve. */
  load(len: number): boolean {
    const u8 = this.io.u8;
    const o = SA_OFF;
    this.len = len;
    const v4 = ipv4SockaddrKey(u8, o);
    if (v4 >= 0) { this.key = v4; return true; }
    if ((u8[o] | (u8[o + 1] << 8)) !== AF_INET6) return false;
    // The address, its scope (a link-local address is one per interface) and the port, as one
    // 22-character latin1 string (bytes 2-3 and 8-27 of the sockaddr_in6).
    const b = this.io.bytes;
    this.key = b.toString('latin1', o + 8, o + 28) + b.toString('latin1', o + 2, o + 4);
    return true;
  }

  flow(vip: string, vport: number): FlowAddrs {
    const a = decodeSockaddr(this.io.u8, SA_OFF)!;
    return new AcceptedFlow(a.addr, a.port, vip, vport);
  }

  /** IPv4: the key (ip * 65536 + port) is the address, so nothing more is kept; IPv6: the sockaddr's bytes. */
  replyAddr(): ReplyAddr | undefined {
    return typeof this.key === 'number' ? undefined : this.io.u8.slice(SA_OFF, SA_OFF + this.len);
  }
}

class NativeServiceSocket implements UdpServiceSocket, FdHandler {
  private fd = -1;
  private onDatagram: ((data: Buffer, from: UdpSender) => void) | undefined;
  private readonly sender: StagedSender;

  constructor(private readonly io: NativeUdpIo, private readonly host: string, private readonly port: number, private readonly onError: () => void) {
    this.sender = new StagedSender(io);
  }

  listen(onDatagram: (data: Buffer, from: UdpSender) => void): Promise<void> {
    const { sys, loop } = this.io;
    const addr = parseIp(this.host);
    if (!addr) return Promise.reject(new Error(`bind: '${this.host}' is not an IP address`));
    const fd = sys.socket(addr.family === 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Promise.reject(this.error('socket'));
    const sa = encodeSockaddr(addr, this.port);
    if (sys.bind(fd, sa, sa.length) < 0) {
      const err = this.error('bind');
      sys.close(fd);
      return Promise.reject(err);
    }
    if (loop.add(fd, EPOLLIN, this) !== 0) {
      const err = this.error('epoll_ctl');
      sys.close(fd);
      return Promise.reject(err);
    }
    this.fd = fd;
    this.onDatagram = onDatagram;
    return Promise.resolve();
  }

  private error(call: string): Error {
    const { sys } = this.io;
    const e = sys.errno();
    // Node's wording ('bind EADDRINUSE 127.0.0.1:53'), so logs read the same on either path.
    const code = errnoName(e);
    return Object.assign(new Error(`${call} ${code} ${this.host}:${this.port}`), { code, detail: sys.strerror(e) });
  }

  onEvents(): void {
    const io = this.io;
    const { sys, mem, dv } = io;
    for (let i = 0; i < RECV_BATCH && this.fd >= 0; i++) {
      dv.setUint32(SALEN_OFF, SOCKADDR_MAX, true);
      const n = sys.recvfromAt(this.fd, mem + ROOM, MAX_DGRAM, 0, mem + SA_OFF, mem + SALEN_OFF);
      if (n < 0) {
        const e = sys.errno();
        if (e === EAGAIN) return;
        if (e !== EINTR) this.onError();
        continue;
      }
      if (!this.sender.load(dv.getUint32(SALEN_OFF, true))) continue;
      this.onDatagram!(io.received(n), this.sender);
    }
  }

  address(): { address: string; port: number } | undefined {
    const { sys, mem, dv, u8 } = this.io;
    if (this.fd < 0) return undefined;
    dv.setUint32(SALEN_OFF, SOCKADDR_MAX, true);
    if (sys.getsockname(this.fd, mem + SA_OFF, mem + SALEN_OFF) < 0) return undefined;
    const a = decodeSockaddr(u8, SA_OFF);
    return a && { address: formatIp(a.addr), port: a.port };
  }

  sendTo(data: Buffer, to: ReplyAddr): boolean {
    if (this.fd < 0) return false;
    const io = this.io;
    const u8 = io.u8;
    let len: number;
    if (typeof to === 'number') {
      len = writeIpv4Sockaddr(u8, TO_OFF, to);
    } else {
      const sa = to as Uint8Array;
      u8.set(sa, TO_OFF);
      len = sa.length;
    }
    return io.sys.sendtoAt(this.fd, io.stage(data, undefined), data.length, 0, io.mem + TO_OFF, len) >= 0;
  }

  close(): Promise<void> {
    if (this.fd >= 0) {
      this.io.loop.forget(this.fd);
      this.io.sys.close(this.fd);
      this.fd = -1;
    }
    return Promise.resolve();
  }
}

class NativeUpstream implements UdpUpstreamSocket, FdHandler {
  private closed = false;

  constructor(private readonly io: NativeUdpIo, private readonly fd: number, private readonly events: UpstreamEvents) {}

  send(data: Buffer, header: Buffer | undefined): void {
    if (this.closed) return;
    const len = data.length + (header ? header.length : 0);
    // A full send buffer drops the datagram, as the kernel would on the way: counted as a send error.
    if (this.io.sys.writeAt(this.fd, this.io.stage(data, header), len) < 0) this.events.onSendError();
  }

  onEvents(): void {
    const { sys, mem } = this.io;
    for (let i = 0; i < RECV_BATCH && !this.closed; i++) {
      const n = sys.readAt(this.fd, mem + ROOM, MAX_DGRAM);
      if (n < 0) {
        const e = sys.errno();
        if (e === EAGAIN) return;
        // ECONNREFUSED and friends: the real server's host answered an earlier datagram with an ICMP error.
        if (e !== EINTR) this.events.onSendError();
        continue;
      }
      this.events.onReply(this.io.received(n));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.io.loop.forget(this.fd);
    this.io.sys.close(this.fd);
  }
}
