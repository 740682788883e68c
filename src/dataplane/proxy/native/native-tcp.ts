// The listening socket of one TCP virtual service on the native path (docs/adr/0004-native-tcp-io.md):
// the same contract as TcpListener (tcp-proxy.ts), so the plane drives either. The listening
// socket is level-triggered and accepts a bounded batch per event, so one busy service cannot
// starve the others; when the process runs out of descriptors (EMFILE), accepting pauses for a
// moment instead of spinning on a socket that stays readable.
import { parseIp } from '../../../core/net/addr.js';
import type { Destination } from '../../../core/service/destination.js';
import type { VirtualService } from '../../../core/service/virtual-service.js';
import type { ProxyEngine } from '../engine.js';
import type { CoarseClock, TcpProxyCounters, TcpServiceOptions } from '../tcp-service.js';
import { SessionSet } from '../sessions.js';
import { type FdHandler, NativeLoop } from './loop.js';
import { NativeTcpSession } from './native-session.js';
import { AcceptedFlow, SOCKADDR_MAX, decodeSockaddr, encodeSockaddr } from './sockaddr.js';
import {
  AF_INET, AF_INET6, EAGAIN, EINTR, EPOLLIN, INT_ONE, IPPROTO_TCP, SOCK_CLOEXEC, SOCK_NONBLOCK,
  SOCK_STREAM, SOL_SOCKET, SO_OOBINLINE, SO_REUSEADDR, TCP_NODELAY, type SockSys, errnoName, isOutOfResources,
} from './sys.js';

/** Connections accepted per readiness event of one listening socket. */
const ACCEPT_BATCH = 64;
/** How long accepting pauses when the process is out of descriptors or memory. */
const ACCEPT_BACKOFF_MS = 100;

export class NativeTcpListener implements FdHandler {
  readonly sessions = new SessionSet<NativeTcpSession>(true);
  readonly loop: NativeLoop;
  private fd = -1;
  private closing: Promise<void> | undefined;
  private readonly sockaddrs = new WeakMap<Destination, Uint8Array>();
  private backoff: NodeJS.Timeout | undefined;

  constructor(
    readonly sys: SockSys,
    public svc: VirtualService,
    readonly vip: string,
    readonly vport: number,
    readonly bindHost: string,
    readonly bindPort: number,
    readonly engine: ProxyEngine,
    public opts: TcpServiceOptions,
    readonly clock: CoarseClock,
    readonly counters: TcpProxyCounters,
  ) {
    this.loop = NativeLoop.shared(sys);
  }

  /** Starts listening; rejects with the socket error (EADDRINUSE, EADDRNOTAVAIL...). */
  listen(backlog = 4096): Promise<void> {
    const { sys } = this;
    const addr = parseIp(this.bindHost);
    if (!addr) return Promise.reject(new Error(`listen: '${this.bindHost}' is not an IP address`));
    const sa = encodeSockaddr(addr, this.bindPort);
    const fd = sys.socket(addr.family === 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Promise.reject(this.error('socket'));
    sys.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, INT_ONE, 4);
    // Accepted sockets inherit TCP_NODELAY from the listening socket: no setsockopt per connection.
    sys.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, INT_ONE, 4);
    // And SO_OOBINLINE: a client's urgent byte (telnet, FTP's ABOR) is read in line and passed on
    // with the stream, instead of being skipped by read().
    sys.setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, INT_ONE, 4);
    if (sys.bind(fd, sa, sa.length) < 0 || sys.listen(fd, backlog) < 0) {
      const err = this.error('listen');
      sys.close(fd);
      return Promise.reject(err);
    }
    if (this.loop.add(fd, EPOLLIN, this) !== 0) {
      const err = this.error('epoll_ctl');
      sys.close(fd);
      return Promise.reject(err);
    }
    this.fd = fd;
    return Promise.resolve();
  }

  private error(call: string): Error {
    const e = this.sys.errno();
    // Node's wording ('listen EADDRINUSE: address already in use ...'), so logs read the same on either path.
    const code = errnoName(e);
    return Object.assign(new Error(`${call} ${code}: ${this.sys.strerror(e).toLowerCase()} ${this.bindHost}:${this.bindPort}`), { code });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  onEvents(): void {
    const { sys, loop } = this;
    const o = loop.scratchOff;
    for (let i = 0; i < ACCEPT_BATCH && this.fd >= 0; i++) {
      loop.dv.setUint32(o + SOCKADDR_MAX, SOCKADDR_MAX, true);
      const c = sys.accept4(this.fd, loop.mem + o, loop.mem + o + SOCKADDR_MAX, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) {
        const e = sys.errno();
        if (isOutOfResources(e)) this.pauseAccepting();
        // EAGAIN: done; ECONNABORTED and friends: that one connection is gone, the next may be fine.
        if (e === EAGAIN || e === EINTR || this.backoff) return;
        continue;
      }
      const peer = decodeSockaddr(loop.u8, o);
      if (!peer || this.closing) { sys.close(c); continue; }
      this.counters.accepted++;
      const s = new NativeTcpSession(this, c, new AcceptedFlow(peer.addr, peer.port, this.vip, this.vport));
      this.sessions.add(s);
      s.start();
    }
  }

  /** Stops accepting for a moment (out of descriptors or memory: here, or a session's connect). */
  pauseAccepting(): void {
    if (this.backoff || this.fd < 0) return;
    // The socket stays open and readable: it must leave the epoll set, or level-triggered
    // readiness would wake the loop without end.
    this.loop.remove(this.fd);
    this.counters.acceptPaused++;
    this.backoff = setTimeout(() => {
      this.backoff = undefined;
      // Re-register: a new generation, so nothing stale reaches us. If even that fails (no
      // memory), wait again rather than stop accepting for good.
      if (this.fd >= 0 && !this.closing && this.loop.add(this.fd, EPOLLIN, this) !== 0) this.pauseAccepting();
    }, ACCEPT_BACKOFF_MS);
  }

  /** The sockaddr of a real server at `port` (cached per destination: no parsing per connection). */
  sockaddrOf(dest: Destination, port: number): Uint8Array {
    let sa = this.sockaddrs.get(dest);
    if (!sa || ((sa[2] << 8) | sa[3]) !== port) {
      sa = encodeSockaddr(dest.addr, port);
      this.sockaddrs.set(dest, sa);
    }
    return sa;
  }

  /** Stops accepting; established sessions go on (drain). */
  stopAccepting(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.backoff) { clearTimeout(this.backoff); this.backoff = undefined; }
    if (this.fd >= 0) {
      this.loop.forget(this.fd);
      this.sys.close(this.fd);
      this.fd = -1;
    }
    this.closing = Promise.resolve();
    return this.closing;
  }

  /** Resolves when no session is left (or at once). */
  drained(): Promise<void> {
    return this.sessions.drained();
  }

  sweep(now: number): void {
    this.sessions.sweep(now);
  }

  /** Resets the sessions whose real server matches (expire_nodest_conn, spec §2.9). */
  abortWhere(pred: (s: NativeTcpSession) => boolean): number {
    return this.sessions.abortWhere(pred);
  }
}
