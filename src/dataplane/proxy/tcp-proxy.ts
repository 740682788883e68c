// TCP proxying for one virtual service: accept on VIP:port (or a configured bind address), let the
// engine pick the real server, connect with a timeout and retry the next choice on refusal or
// timeout, then pipe both ways with backpressure, half-close (FIN) each direction separately and
// map resets both ways. Every socket event is reported to the engine (engine.ts), which keeps the
// kernel's connection states and counters (spec §2.4, §2.5).
//
// Hot path: one 'data' listener per direction writes the chunk straight to the other socket and
// pauses the reader when write() reports a full buffer; 'drain' resumes it. No stream.pipe, no
// per-chunk allocation of our own, no per-connection timers (the plane's sweep checks deadlines).
import net from 'node:net';
import { parseIp } from '../../core/net/addr.js';
import type { Destination } from '../../core/service/destination.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import { inAnyCidr, unmapIp } from './cidr.js';
import type { CoarseClock, TcpProxyCounters, TcpServiceListener, TcpServiceOptions } from './tcp-service.js';
import type { EngineConn, FlowAddrs, ProxyEngine } from './engine.js';
import { type RetryingSession, endAttempt, retryConnect } from './retry.js';
import { SessionSet } from './sessions.js';
import { takeInboundHeader } from './inbound-header.js';
import { encodeTcpProxyHeader } from './proxy-protocol.js';

// session flags
const F_CONNECTED = 1;
const F_CLIENT_EOF = 2;
const F_SERVER_EOF = 4;
const F_CLIENT_CLOSED = 8;
const F_SERVER_CLOSED = 16;
const F_DONE = 32;
const F_RESET = 64;
const F_HEADER = 128;

/** Sends RST (when the socket has a handle) and destroys; never throws. */
function rst(s: net.Socket | undefined): void {
  if (!s || s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

/** One proxied client connection and its (current) real-server socket. */
export class TcpSession implements RetryingSession {
  server: net.Socket | undefined;
  conn: EngineConn | undefined;
  flags = 0;
  /** Connect (or PROXY header) deadline while not connected; -1 when none. */
  deadline = -1;
  lastActive: number;
  attempts = 0;
  /** Index in the listener's SessionSet (sessions.ts). */
  sessionSlot = -1;
  private flow: FlowAddrs;
  private header: Buffer | undefined;

  constructor(readonly listener: TcpListener, readonly client: net.Socket) {
    this.lastActive = listener.clock.now;
    this.flow = {
      clientIp: unmapIp(client.remoteAddress ?? ''),
      clientPort: client.remotePort ?? 0,
      vip: listener.vip,
      vport: listener.vport,
    };
    client.on('error', this.onClientError);
    client.on('close', this.onClientClose);
    client.on('end', this.onClientEnd);
    client.on('drain', this.onClientDrain);
  }

  /** Starts a session the engine already scheduled elsewhere (a worker process). */
  startWith(conn: EngineConn): void {
    this.conn = conn;
    this.connect();
  }

  /** Starts the session: read a PROXY header from trusted peers, else schedule right away. */
  start(): void {
    const l = this.listener;
    if (this.client.remoteAddress === undefined) { this.client.destroy(); return; }
    if (inAnyCidr(this.flow.clientIp, l.opts.acceptProxyFrom)) {
      this.flags |= F_HEADER;
      this.deadline = l.clock.now + l.opts.proxyHeaderTimeoutMs;
      this.client.on('data', this.onHeaderData);
      this.client.resume();
      return;
    }
    this.schedule();
  }

  private onHeaderData = (chunk: Buffer): void => {
    this.header = this.header ? Buffer.concat([this.header, chunk]) : chunk;
    const r = takeInboundHeader(this.header, this.flow);
    if (r.status === 'incomplete') return;
    this.client.removeListener('data', this.onHeaderData);
    this.client.pause();
    this.flags &= ~F_HEADER;
    this.header = undefined;
    if (r.status === 'invalid') {
      this.listener.counters.proxyHeaderInvalid++;
      rst(this.client);
      return;
    }
    this.flow = r.flow;
    if (r.rest.length > 0) this.client.unshift(r.rest);
    this.schedule();
  };

  private schedule(): void {
    const l = this.listener;
    const res = l.engine.open(l.svc, 'tcp', this.flow, 0);
    if (typeof res === 'string') {
      // The kernel answers ICMP port unreachable (spec §2.6); a socket can only reset.
      l.counters.refused++;
      rst(this.client);
      return;
    }
    this.conn = res;
    this.connect();
  }

  connect(): void {
    const conn = this.conn!;
    const l = this.listener;
    this.attempts++;
    this.deadline = l.clock.now + l.opts.connectTimeoutMs;
    const s = net.connect({ host: conn.destHost, port: conn.destPort, noDelay: true, allowHalfOpen: true });
    this.server = s;
    s.on('connect', () => this.onServerConnect(s));
    s.on('error', (e: NodeJS.ErrnoException) => this.onServerError(s, e));
    s.on('close', () => this.onServerClose(s));
    s.on('end', this.onServerEnd);
    s.on('data', this.onServerData);
    s.on('drain', this.onServerDrain);
  }

  private onServerConnect(s: net.Socket): void {
    if (s !== this.server || this.flags & F_DONE) return;
    this.flags |= F_CONNECTED;
    this.deadline = -1;
    this.lastActive = this.listener.clock.now;
    const conn = this.conn!;
    conn.established();
    const pp = conn.proxyProtocol ?? this.listener.opts.proxyProtocolFor(conn.dest);
    if (pp !== 0) {
      const dst = parseIp(unmapIp(this.client.localAddress ?? ''));
      s.write(encodeTcpProxyHeader(pp, parseIp(this.flow.clientIp), this.flow.clientPort, dst, this.client.localPort ?? 0));
    }
    this.client.on('data', this.onClientData);
    this.client.resume();
  }

  /** A connect attempt failed (error before connect, or the deadline passed): try the next choice. */
  private connectFailed(timeout: boolean): void {
    const old = this.server;
    this.server = undefined;
    old?.destroy();
    retryConnect(this, timeout);
  }

  clientGone(): boolean {
    return this.client.destroyed;
  }

  endGone(): void {
    this.finishIfClosed();
  }

  refuseClient(): void {
    rst(this.client);
  }

  private onClientData = (chunk: Buffer): void => {
    this.lastActive = this.listener.clock.now;
    this.conn!.inData(chunk.length);
    const s = this.server!;
    if (!s.destroyed && !s.write(chunk)) this.client.pause();
  };

  private onServerData = (chunk: Buffer): void => {
    this.lastActive = this.listener.clock.now;
    this.conn!.outData(chunk.length);
    const c = this.client;
    if (!c.destroyed && !c.write(chunk)) this.server!.pause();
  };

  private onServerDrain = (): void => {
    if (!(this.flags & F_CLIENT_EOF)) this.client.resume();
  };

  private onClientDrain = (): void => {
    if (this.server && !(this.flags & F_SERVER_EOF)) this.server.resume();
  };

  private onClientEnd = (): void => {
    this.flags |= F_CLIENT_EOF;
    if (this.flags & F_CONNECTED) {
      this.conn!.clientFin();
      if (!this.server!.destroyed) this.server!.end();
    }
  };

  private onServerEnd = (): void => {
    this.flags |= F_SERVER_EOF;
    this.conn?.serverFin();
    if (!this.client.destroyed) this.client.end();
  };

  private onClientError = (): void => {
    // ECONNRESET and friends: the client is gone; reset the real server too.
    if (this.flags & F_DONE) return;
    this.listener.counters.clientResets++;
    this.markReset();
    rst(this.server);
  };

  private onServerError(s: net.Socket, _e: NodeJS.ErrnoException): void {
    if (s !== this.server) return;
    if (!(this.flags & F_CONNECTED)) { this.connectFailed(false); return; }
    this.listener.counters.serverResets++;
    this.markReset();
    rst(this.client);
  }

  private markReset(): void {
    if (this.flags & F_RESET) return;
    this.flags |= F_RESET;
    if (this.flags & F_CONNECTED) this.conn?.reset();
  }

  private onClientClose = (): void => {
    this.flags |= F_CLIENT_CLOSED;
    if (!(this.flags & F_CONNECTED)) {
      // Closed before a real server answered: abandon the attempt.
      const s = this.server;
      this.server = undefined;
      if (s) { rst(s); this.flags |= F_SERVER_CLOSED; }
      endAttempt(this);
    } else if (this.server && !this.server.destroyed && !(this.flags & F_CLIENT_EOF)) {
      // Closed without a FIN we saw (destroyed locally): do not leave the server half-open.
      rst(this.server);
    }
    this.finishIfClosed();
  };

  private onServerClose(s: net.Socket): void {
    if (s !== this.server) return;
    this.flags |= F_SERVER_CLOSED;
    if (!this.client.destroyed && !(this.flags & F_SERVER_EOF)) rst(this.client);
    this.finishIfClosed();
  }

  private finishIfClosed(): void {
    if (this.flags & F_DONE) return;
    if (!(this.flags & F_CLIENT_CLOSED)) return;
    if (this.server && !(this.flags & F_SERVER_CLOSED)) return;
    this.flags |= F_DONE;
    if (this.flags & F_CONNECTED) this.conn?.closed();
    this.listener.sessions.done(this);
  }

  /** Periodic check (the plane's sweep): connect and header deadlines, idle timeout. */
  sweep(now: number): void {
    if (this.flags & F_DONE) return;
    if (this.deadline >= 0 && now >= this.deadline) {
      if (this.flags & F_HEADER) {
        this.listener.counters.proxyHeaderTimeouts++;
        this.deadline = -1;
        rst(this.client);
      } else if (!(this.flags & F_CONNECTED) && this.server) {
        this.connectFailed(true);
      }
      return;
    }
    if (!(this.flags & F_CONNECTED)) return;
    const half = (this.flags & (F_CLIENT_EOF | F_SERVER_EOF)) !== 0;
    if (now - this.lastActive >= this.listener.engine.tcpIdleMs(half)) {
      this.listener.counters.idleTimeouts++;
      this.client.destroy();
      this.server?.destroy();
    }
  }

  /** Closes both sides with resets (expire_nodest_conn, plane shutdown). */
  abort(): void {
    if (this.flags & F_DONE) return;
    this.markReset();
    rst(this.server);
    rst(this.client);
  }

  /** True when the real server of this session is `d`. */
  usesDest(d: Destination): boolean {
    return this.conn !== undefined && this.conn.dest === d;
  }
}

/** The listening socket of one TCP virtual service and its sessions. */
export class TcpListener implements TcpServiceListener {
  readonly sessions = new SessionSet<TcpSession>();
  private server: net.Server | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    public svc: VirtualService,
    readonly vip: string,
    readonly vport: number,
    readonly bindHost: string,
    readonly bindPort: number,
    readonly engine: ProxyEngine,
    public opts: TcpServiceOptions,
    readonly clock: CoarseClock,
    /** The plane's (or worker's) counters, shared by its listeners: totals survive a listener. */
    readonly counters: TcpProxyCounters,
    /** An already-open listening handle to use instead of binding (worker processes). */
    private readonly handle?: net.Server,
  ) {}

  /** Starts listening; rejects with the socket error (EADDRINUSE, EADDRNOTAVAIL...). */
  listen(backlog = 4096): Promise<void> {
    const srv = this.handle ?? net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
    this.server = srv;
    srv.on('connection', (c: net.Socket) => this.accept(c));
    if (this.handle) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onErr = (e: Error) => reject(e);
      srv.once('error', onErr);
      srv.listen({ host: this.bindHost, port: this.bindPort, backlog }, () => {
        srv.removeListener('error', onErr);
        srv.on('error', () => { /* accept errors (EMFILE) are transient; counted by the kernel */ });
        resolve();
      });
    });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Set by a worker pool: takes an accepted socket away from this process (true when taken). */
  handoff: ((l: TcpListener, c: net.Socket) => boolean) | undefined;

  /** A socket was accepted: serve it here, or hand it to a worker. */
  accept(c: net.Socket): void {
    if (this.closing) { c.destroy(); return; }
    this.counters.accepted++;
    if (this.handoff && this.opts.acceptProxyFrom.length === 0 && this.handoff(this, c)) return;
    // TCP_NODELAY is already set by the server's noDelay option: no second syscall here.
    const s = new TcpSession(this, c);
    this.sessions.add(s);
    s.start();
  }

  /** A connection the primary accepted (and counted) and scheduled, handed to this worker. */
  adopt(c: net.Socket, conn: EngineConn): TcpSession {
    c.setNoDelay(true);
    const s = new TcpSession(this, c);
    this.sessions.add(s);
    s.startWith(conn);
    return s;
  }

  /** Stops accepting; established sessions go on (drain). */
  stopAccepting(): Promise<void> {
    if (this.closing) return this.closing;
    const srv = this.server;
    // net.Server.close() calls back only once every accepted connection is gone; sessions are
    // ours to drain, so resolve as soon as the listening socket is closed.
    this.closing = new Promise((resolve) => {
      if (srv && srv.listening) srv.close();
      setImmediate(resolve);
    });
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
  abortWhere(pred: (s: TcpSession) => boolean): number {
    return this.sessions.abortWhere(pred);
  }
}
