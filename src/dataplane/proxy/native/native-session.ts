// One proxied TCP connection on raw descriptors (docs/adr/0004-native-tcp-io.md): the same
// behaviour and the same engine events as TcpSession (tcp-proxy.ts), with the system calls nginx
// makes. Both sockets are registered edge-triggered (readable, writable, peer FIN) once; data
// moves through the loop's shared 64 KiB buffer, read() then write(); only what the other side
// does not take at once is copied into a per-direction pending buffer, and that direction stops
// reading until the buffer is flushed (backpressure). A FIN is passed on with shutdown(SHUT_WR)
// once everything before it is written; a reset is passed on as a reset (SO_LINGER 0 + close).
import type { Destination } from '../../../core/service/destination.js';
import { inAnyCidr } from '../cidr.js';
import type { EngineConn, FlowAddrs } from '../engine.js';
import { type RetryingSession, endAttempt, retryConnect } from '../retry.js';
import { EDGE_ALL, type FdHandler, IO_BUFFER, copyOut } from './loop.js';
import type { NativeTcpListener } from './native-tcp.js';
import { outboundProxyHeader, readInboundHeader } from './proxy-headers.js';
import {
  F_CLIENT_CLOSED, F_CLIENT_EOF, F_CLIENT_FIN, F_CLIENT_RDHUP, F_CONNECTED, F_DONE, F_HEADER, F_RESET, F_SERVER_EOF, F_SERVER_FIN, F_SERVER_OOBINLINE, F_SERVER_RDHUP, F_URGENT,
  sideEventFlags,
} from './session-flags.js';
import {
  AF_INET, AF_INET6, EAGAIN, EINPROGRESS, EINTR, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP, INT_ONE, IPPROTO_TCP, LINGER_RESET, SHUT_WR,
  SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, SO_LINGER, SO_OOBINLINE, TCP_NODELAY, isOutOfResources,
} from './sys.js';

export class NativeTcpSession implements FdHandler, RetryingSession {
  sfd = -1;
  conn: EngineConn | undefined;
  flags = 0;
  /** Connect (or PROXY header) deadline while not connected; -1 when none. */
  deadline = -1;
  lastActive: number;
  attempts = 0;
  /** Index in the listener's SessionSet (sessions.ts). */
  sessionSlot = -1;
  /** Bytes waiting for the real server (PROXY header, early client data) or for the client. */
  private toServer: Buffer | undefined;
  private toClient: Buffer | undefined;
  private header: Buffer | undefined;

  constructor(readonly listener: NativeTcpListener, readonly cfd: number, private flow: FlowAddrs) {
    this.lastActive = listener.clock.now;
  }

  /** Starts the session: read a PROXY header from trusted peers, else schedule right away. */
  start(): void {
    const l = this.listener;
    if (l.loop.add(this.cfd, EDGE_ALL, this) !== 0) { this.closeClient(false); this.finish(); return; }
    if (l.opts.acceptProxyFrom.length > 0 && inAnyCidr(this.flow.clientIp, l.opts.acceptProxyFrom)) {
      this.flags |= F_HEADER;
      this.deadline = l.clock.now + l.opts.proxyHeaderTimeoutMs;
      return;
    }
    this.schedule();
  }

  onEvents(fd: number, ev: number): void {
    if (this.flags & F_DONE) return;
    if (fd === this.cfd) this.clientEvents(ev);
    else if (fd === this.sfd) this.serverEvents(ev);
  }

  private clientEvents(ev: number): void {
    this.flags |= sideEventFlags(ev, F_CLIENT_RDHUP, F_CLIENT_FIN);
    if (this.flags & F_HEADER) { this.readHeader(); return; }
    if (!(this.flags & F_CONNECTED)) {
      // Data and a FIN wait for the real server; a hang-up or an error ends the attempt.
      if (ev & (EPOLLHUP | EPOLLERR)) this.abandon();
      return;
    }
    if ((ev & EPOLLOUT) && this.toClient && this.flush(false)) this.pump(false);
    // An error while this direction waits for the server to take pending bytes: pump() would not
    // read, and the edge would be gone. A reset loses the unread bytes anyway: pass it on now.
    if ((ev & EPOLLERR) && this.toServer && !(this.flags & F_DONE)) { this.peerFailed(true); return; }
    if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !(this.flags & F_DONE)) this.pump(true);
  }

  private serverEvents(ev: number): void {
    this.flags |= sideEventFlags(ev, F_SERVER_RDHUP, F_SERVER_FIN);
    if ((ev & EPOLLPRI) && !(this.flags & F_SERVER_OOBINLINE)) this.serverInline();
    if (!(this.flags & F_CONNECTED)) {
      if (ev & (EPOLLERR | EPOLLHUP)) { this.connectFailed(false); return; }
      if (ev & EPOLLOUT) this.onServerConnect(ev);
      return;
    }
    if ((ev & EPOLLOUT) && this.toServer && this.flush(true)) this.pump(true);
    if ((ev & EPOLLERR) && this.toClient && !(this.flags & F_DONE)) { this.peerFailed(false); return; }
    if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !(this.flags & F_DONE)) this.pump(false);
  }

  // ------------------------------------------------------------------ PROXY header from a trusted peer

  private readHeader(): void {
    const l = this.listener;
    const r = readInboundHeader(l.sys, l.loop, this.cfd, this.header, this.flow, (this.flags & F_CLIENT_RDHUP) !== 0);
    if (r.kind === 'wait') { this.header = r.partial; return; }
    this.flags &= ~F_HEADER;
    this.deadline = -1;
    this.header = undefined;
    if (r.kind === 'done') {
      this.flow = r.flow;
      if (r.rest.length > 0) this.toServer = r.rest; // client bytes that came with the header
      this.schedule();
      return;
    }
    if (r.kind === 'invalid') l.counters.proxyHeaderInvalid++;
    this.closeClient(r.kind === 'invalid' || r.error);
    this.finish();
  }

  // ------------------------------------------------------------------ scheduling and connecting

  private schedule(): void {
    const l = this.listener;
    const res = l.engine.open(l.svc, 'tcp', this.flow, 0);
    if (typeof res === 'string') {
      // The kernel answers ICMP port unreachable (spec §2.6); a socket can only reset.
      l.counters.refused++;
      this.closeClient(true);
      this.finish();
      return;
    }
    this.conn = res;
    this.connect();
  }

  connect(): void {
    const l = this.listener;
    const { sys } = l;
    const conn = this.conn!;
    this.attempts++;
    this.deadline = l.clock.now + l.opts.connectTimeoutMs;
    const sa = l.sockaddrOf(conn.dest, conn.destPort);
    const fd = sys.socket(conn.dest.addr.family === 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      if (isOutOfResources(sys.errno())) {
        // Out of descriptors or memory here, not a real server's failure: no retry against
        // healthy servers; the client is reset and accepting pauses for a moment.
        endAttempt(this);
        l.pauseAccepting();
        this.refuseClient();
        return;
      }
      this.connectFailed(false);
      return;
    }
    this.sfd = fd;
    sys.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, INT_ONE, 4);
    const r = sys.connect(fd, sa, sa.length);
    if (r < 0 && sys.errno() !== EINPROGRESS) { this.connectFailed(false); return; }
    if (l.loop.add(fd, EDGE_ALL, this) !== 0) { this.connectFailed(false); return; }
    // A loopback connect may complete at once; the edge for EPOLLOUT still comes.
  }

  /**
   * The real server's socket became writable with no error or hang-up in the event (serverEvents
   * took those as a failed attempt). On Linux that alone means connected: a TCP socket reports
   * EPOLLOUT only once it has left SYN_SENT, and a refused or reset attempt sets EPOLLERR and
   * EPOLLHUP. So no getsockopt(SO_ERROR), which nginx and libuv make for portability; an error
   * that arrives right after this event comes as an event of its own. (TCP Fast Open's deferred
   * connect would report EPOLLOUT in SYN_SENT: these sockets never enable it.)
   */
  private onServerConnect(ev: number): void {
    const l = this.listener;
    this.flags |= F_CONNECTED;
    this.deadline = -1;
    this.lastActive = l.clock.now;
    const conn = this.conn!;
    conn.established();
    const pp = conn.proxyProtocol ?? l.opts.proxyProtocolFor(conn.dest);
    if (pp !== 0) {
      const hdr = outboundProxyHeader(l.sys, l.loop, this.cfd, this.flow, pp);
      this.toServer = this.toServer ? Buffer.concat([hdr, this.toServer]) : hdr;
    }
    if (!this.toServer || this.flush(true)) this.pump(true);
    // A server that speaks first (SMTP, FTP) may have data in this very edge.
    if ((ev & (EPOLLIN | EPOLLRDHUP)) && !(this.flags & F_DONE)) this.pump(false);
  }

  /** A connect attempt failed (error, or the deadline passed): try the next choice. */
  private connectFailed(timeout: boolean): void {
    this.closeServer(false);
    retryConnect(this, timeout);
  }

  clientGone(): boolean {
    return (this.flags & (F_CLIENT_CLOSED | F_DONE)) !== 0;
  }

  endGone(): void {
    this.finish();
  }

  refuseClient(): void {
    this.closeClient(true);
    this.finish();
  }

  /** The client hung up before a real server answered: abandon the attempt. */
  private abandon(): void {
    this.closeServer(true);
    endAttempt(this);
    this.closeClient(false);
    this.finish();
  }

  // ------------------------------------------------------------------ moving bytes

  /** The real server's socket reads urgent data in line from now on (session-flags.ts, F_SERVER_OOBINLINE). */
  private serverInline(): void {
    this.listener.sys.setsockopt(this.sfd, SOL_SOCKET, SO_OOBINLINE, INT_ONE, 4);
    this.flags |= F_SERVER_OOBINLINE;
  }

  /** Moves what `fromClient`'s source has to the other side until it would block, runs dry or ends. */
  private pump(fromClient: boolean): void {
    if (fromClient ? this.toServer : this.toClient) return; // backpressure: the other side has not taken the last chunk
    // Reading past short reads (urgent data was seen on either side) could start a read at the
    // real server's urgent mark before its EPOLLPRI is handled: in line first.
    if (!fromClient && (this.flags & (F_URGENT | F_SERVER_OOBINLINE)) === F_URGENT) this.serverInline();
    const eofFlag = fromClient ? F_CLIENT_EOF : F_SERVER_EOF;
    if (this.flags & eofFlag) return;
    const l = this.listener;
    const { sys, loop } = l;
    const src = fromClient ? this.cfd : this.sfd;
    const dst = fromClient ? this.sfd : this.cfd;
    const rdhup = fromClient ? F_CLIENT_RDHUP : F_SERVER_RDHUP;
    const fin = fromClient ? F_CLIENT_FIN : F_SERVER_FIN;
    const buf = loop.mem + loop.ioOff;
    for (;;) {
      const n = sys.readAt(src, buf, IO_BUFFER);
      if (n > 0) {
        this.lastActive = l.clock.now;
        if (fromClient) this.conn!.inData(n);
        else this.conn!.outData(n);
        let w = sys.writeAt(dst, buf, n);
        if (w < 0) {
          if (sys.errno() !== EAGAIN) { this.peerFailed(!fromClient); return; }
          w = 0;
        }
        if (w < n) {
          const rest = copyOut(loop.u8, loop.ioOff + w, n - w);
          if (fromClient) this.toServer = rest;
          else this.toClient = rest;
          return;
        }
        // A short read emptied the socket: the next arrival is a new edge. After a FIN was
        // signalled, the end has come (one read fewer per direction); after an error, read on
        // until read() reports it.
        if (n < IO_BUFFER && !(this.flags & F_URGENT)) {
          if (this.flags & fin) { this.gotEof(fromClient); return; }
          if (!(this.flags & rdhup)) return;
        }
        continue;
      }
      if (n === 0) { this.gotEof(fromClient); return; }
      const e = sys.errno();
      if (e === EAGAIN || e === EINTR) return;
      this.peerFailed(fromClient);
      return;
    }
  }

  /** Writes the pending bytes for one side; true when nothing is left. */
  private flush(toServer: boolean): boolean {
    const p = toServer ? this.toServer : this.toClient;
    if (!p) return true;
    const { sys, loop } = this.listener;
    const fd = toServer ? this.sfd : this.cfd;
    // The shared buffer is free between events; pending chunks are at most its size.
    let off = 0;
    while (off < p.length) {
      const len = Math.min(p.length - off, IO_BUFFER);
      loop.u8.set(p.subarray(off, off + len), loop.ioOff);
      const w = sys.writeAt(fd, loop.mem + loop.ioOff, len);
      if (w < 0) {
        if (sys.errno() === EAGAIN) break;
        this.peerFailed(!toServer);
        return false;
      }
      off += w;
      if (w < len) break;
    }
    const rest = off < p.length ? p.subarray(off) : undefined;
    if (toServer) this.toServer = rest;
    else this.toClient = rest;
    if (rest) return false;
    this.lastActive = this.listener.clock.now;
    return true;
  }

  private gotEof(fromClient: boolean): void {
    if (fromClient) {
      this.flags |= F_CLIENT_EOF;
      this.conn!.clientFin();
    } else {
      this.flags |= F_SERVER_EOF;
      this.conn!.serverFin();
    }
    if ((this.flags & (F_CLIENT_EOF | F_SERVER_EOF)) !== (F_CLIENT_EOF | F_SERVER_EOF)) {
      // Half-close: pass the FIN on and keep carrying the other direction.
      this.listener.sys.shutdown(fromClient ? this.sfd : this.cfd, SHUT_WR);
    } else {
      // Both directions are over: close() sends the last FIN itself (both receive queues are
      // empty, so it is a FIN, not a reset), one system call fewer per connection.
      this.closeServer(false);
      this.closeClient(false);
      this.finish();
    }
  }

  /** A read or write on one side failed (reset): reset the other side and end the conn. */
  private peerFailed(clientSide: boolean): void {
    const c = this.listener.counters;
    if (clientSide) c.clientResets++;
    else c.serverResets++;
    this.markReset();
    // The side that failed is gone already; the other one gets the reset.
    this.closeServer(clientSide);
    this.closeClient(!clientSide);
    this.finish();
  }

  private markReset(): void {
    if (this.flags & F_RESET) return;
    this.flags |= F_RESET;
    if (this.flags & F_CONNECTED) this.conn?.reset();
  }

  // ------------------------------------------------------------------ closing

  private closeSocket(fd: number, reset: boolean): void {
    const { sys, loop } = this.listener;
    loop.forget(fd);
    if (reset) sys.setsockopt(fd, SOL_SOCKET, SO_LINGER, LINGER_RESET, 8);
    sys.close(fd);
  }

  private closeServer(reset: boolean): void {
    if (this.sfd < 0) return;
    this.closeSocket(this.sfd, reset);
    this.sfd = -1;
    // Before a connect succeeded, pending bytes are the client's early data (after its PROXY
    // header): the next attempt still sends them. After, they were for this server only.
    if (this.flags & F_CONNECTED) this.toServer = undefined;
    // A failed attempt's hang-up must not mark the next attempt's socket.
    else this.flags &= ~(F_SERVER_RDHUP | F_SERVER_FIN | F_SERVER_OOBINLINE);
  }

  private closeClient(reset: boolean): void {
    if (this.flags & F_CLIENT_CLOSED) return;
    this.closeSocket(this.cfd, reset);
    this.flags |= F_CLIENT_CLOSED;
  }

  private finish(): void {
    if (this.flags & F_DONE) return;
    if (this.sfd >= 0) this.closeServer(false);
    this.closeClient(false);
    this.flags |= F_DONE;
    this.toClient = this.toServer = this.header = undefined;
    if (this.flags & F_CONNECTED) this.conn?.closed();
    this.listener.sessions.done(this);
  }

  /** Periodic check (the plane's sweep): connect and header deadlines, idle timeout. */
  sweep(now: number): void {
    if (this.flags & F_DONE) return;
    if (this.deadline >= 0 && now >= this.deadline) {
      this.deadline = -1;
      if (this.flags & F_HEADER) {
        this.listener.counters.proxyHeaderTimeouts++;
        this.closeClient(true);
        this.finish();
      } else if (!(this.flags & F_CONNECTED) && this.sfd >= 0) {
        this.connectFailed(true);
      }
      return;
    }
    if (!(this.flags & F_CONNECTED)) return;
    const half = (this.flags & (F_CLIENT_EOF | F_SERVER_EOF)) !== 0;
    if (now - this.lastActive >= this.listener.engine.tcpIdleMs(half)) {
      this.listener.counters.idleTimeouts++;
      this.finish();
    }
  }

  /** Closes both sides with resets (expire_nodest_conn, plane shutdown). */
  abort(): void {
    if (this.flags & F_DONE) return;
    // Before the real server answered: the attempt ends as abandon() ends it (finish() only
    // reports connected conns).
    if (!(this.flags & F_CONNECTED)) endAttempt(this);
    this.markReset();
    this.closeServer(true);
    this.closeClient(true);
    this.finish();
  }

  /** True when the real server of this session is `d`. */
  usesDest(d: Destination): boolean {
    return this.conn !== undefined && this.conn.dest === d;
  }
}

