// UDP proxying for one virtual service. Sessions are keyed like IPVS UDP connections (client
// ip:port → one real server, spec §2.6), each with its own upstream socket connected to the real
// server, so replies are told apart by socket and sent back to the client from the VIP socket
// (the client sees the address it talked to). Sessions age out after the udp timeout, refreshed
// by traffic either way. With one-packet scheduling (-o, spec §2.8) every datagram is scheduled
// on its own; the client keeps one upstream socket per real server it was sent to, so replies
// still find their way back. With PROXY v2 toward a real server, every datagram carries a DGRAM
// header (a datagram stands alone, so each must name its client).
import { type IpAddress, parseIp } from '../../core/net/addr.js';
import type { Destination } from '../../core/service/destination.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import type { EngineConn, FlowAddrs, ProxyEngine } from './engine.js';
import { encodeProxyV2 } from './proxy-protocol.js';
import type { CoarseClock } from './tcp-service.js';
import type { SocketHolder, UdpSocketBudget } from './udp-budget.js';
import type { ReplyAddr, UdpIo, UdpSender, UdpServiceSocket, UdpUpstreamSocket, UpstreamEvents } from './udp-io.js';
import type { UdpProxyCounters, UdpServiceOptions } from './udp-service.js';

/** Every real server (closing all of a client's -o upstreams). */
const ANY_DEST = (): boolean => true;

/** One upstream socket: a client's flow to one real server. */
class Upstream implements UpstreamEvents {
  private readonly sock: UdpUpstreamSocket | undefined;
  private header: Buffer | undefined;
  /** The listener's settings the header was made for: a reload that replaces them may turn PROXY v2 on or off. */
  private headerFor: UdpServiceOptions | undefined;
  private closed = false;

  constructor(readonly listener: UdpListener, readonly client: UdpClient, public conn: EngineConn) {
    const dest = conn.dest;
    this.sock = listener.io.upstream(dest.addr, conn.destHost, conn.destPort, this);
  }

  /** False when no socket could be opened (the caller ends the session). */
  get opened(): boolean {
    return this.sock !== undefined;
  }

  onFailed(): void {
    this.listener.upstreamFailed(this);
  }

  onSendError(): void {
    this.listener.counters.sendErrors++;
  }

  onQueueDrop(): void {
    this.listener.counters.queueDrops++;
  }

  send(msg: Buffer): void {
    const opts = this.listener.opts;
    if (this.headerFor !== opts) {
      this.headerFor = opts;
      this.header = opts.proxyProtocolFor(this.conn.dest) !== 0 ? dgramHeader(this.client.flow, this.listener) : undefined;
    }
    this.sock?.send(msg, this.header);
  }

  onReply(msg: Buffer): void {
    const l = this.listener;
    // The client's time covers all its upstreams (expiry and eviction read it).
    l.touch(this.client);
    this.conn.outData(msg.length);
    l.counters.datagramsOut++;
    l.sendToClient(msg, this.client.replyTo ?? this.client.key);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listener.budget.give(this.listener);
    this.sock?.close();
  }
}

/** One client address: its session (or, with one-packet scheduling, one upstream per real server). */
class UdpClient {
  lastActive: number;
  /** Neighbours in the listener's list of clients, the idlest first. */
  older: UdpClient | undefined;
  newer: UdpClient | undefined;
  /** True while the client is in the listener's Map and list. */
  listed = false;
  session: Upstream | undefined;
  /** -o only: one upstream per real server (created on the first one-packet datagram). */
  byDest: Map<Destination, Upstream> | undefined;

  /** Where replies go; undefined when the key itself says (udp-io.ts, UdpSender.replyAddr). */
  constructor(readonly listener: UdpListener, readonly key: string | number, readonly flow: FlowAddrs, readonly replyTo: ReplyAddr | undefined) {
    this.lastActive = listener.clock.now;
  }

  /** True while the client has an upstream socket. */
  get holdsSocket(): boolean {
    return this.session !== undefined || (this.byDest !== undefined && this.byDest.size > 0);
  }

  /** Closes the client's session (socket and engine connection), if it has one. */
  endSession(): void {
    if (!this.session) return;
    this.session.close();
    this.session.conn.closed();
    this.session = undefined;
  }

  /** Closes the -o upstreams whose real server matches; returns how many. */
  closeByDest(pred: (dest: Destination) => boolean): number {
    if (!this.byDest) return 0; // a session client (no -o): nothing to walk, nothing allocated
    let n = 0;
    for (const [d, u] of this.byDest) {
      if (!pred(d)) continue;
      u.close();
      this.byDest.delete(d);
      n++;
    }
    return n;
  }

  close(): void {
    this.endSession();
    this.closeByDest(ANY_DEST);
  }
}

/**
 * The datagram socket of one UDP virtual service and its sessions. Clients are found by address in
 * a Map and kept in a list of their own in the order of their last datagram, either way (a client
 * moves to the newest end on each): the idlest is first, where eviction and expiry look. The list,
 * not the Map's order: a Map that loses its oldest entries and gains new ones (every DNS query)
 * keeps the deleted slots at its front until V8 rehashes it, and starting an iteration there
 * skipped thousands of them, 7 µs per eviction (7.6 % of the process under bench/udp-dns.sh).
 * Until 2026-11-24 the list was in creation order and eviction took the idlest of its first 64:
 * under DNS load from fresh ports, clients whose port came back (four in ten queries) were
 * skipped and piled up at the front, until all 64 were busy and one with a query in flight lost
 * its answer (bench/udp-dns.sh's 1–3 timeouts in 240,000 queries).
 */
export class UdpListener implements SocketHolder {
  readonly clients = new Map<string | number, UdpClient>();
  private oldest: UdpClient | undefined;
  private newest: UdpClient | undefined;
  /** Upstream sockets of this listener's sessions. */
  socketsHeld = 0;
  private readonly sock: UdpServiceSocket;
  private closed = false;
  /** The VIP parsed once (PROXY v2 headers name it). */
  readonly vipAddr: IpAddress | undefined;

  constructor(
    private current: VirtualService,
    readonly vip: string,
    readonly vport: number,
    readonly bindHost: string,
    readonly bindPort: number,
    readonly engine: ProxyEngine,
    public opts: UdpServiceOptions,
    readonly clock: CoarseClock,
    readonly budget: UdpSocketBudget,
    /** The plane's counters, shared by its UDP listeners. */
    readonly counters: UdpProxyCounters,
    /** The sockets: Node's dgram or raw descriptors (udp-io.ts). */
    readonly io: UdpIo,
  ) {
    this.vipAddr = parseIp(vip);
    this.onePacketMode = current.isOnePacket;
    this.sock = io.serviceSocket(bindHost, bindPort, () => { this.counters.sendErrors++; });
  }

  /** Whether the open sockets are -o upstreams (per real server) or sessions. */
  private onePacketMode: boolean;

  /** The service this listener serves (replaced by setService on an edit). */
  get svc(): VirtualService {
    return this.current;
  }

  /**
   * The service after an edit. When -o (spec §2.8) was turned on or off, the sockets of the other
   * mode go now (sessions, or per-server upstreams): they would hold budget slots and engine
   * conns for as long as their clients keep sending.
   */
  setService(svc: VirtualService): void {
    // An edit changes the service object in place: the mode the sockets were opened for is kept apart.
    this.current = svc;
    if (svc.isOnePacket === this.onePacketMode) return;
    this.onePacketMode = svc.isOnePacket;
    // A client holds sockets of the old mode only: all of them go.
    this.closeClients();
  }

  /** Closes every client's sockets and forgets them all. */
  private closeClients(): void {
    for (let c = this.oldest; c !== undefined;) {
      const next = c.newer;
      c.close();
      this.forget(c);
      c = next;
    }
  }

  /** Binds the service socket; rejects with the socket error. */
  async listen(): Promise<void> {
    await this.sock.listen(this.onMessage);
    this.budget.join(this);
  }

  /** The bound address. */
  address(): { address: string; port: number } | undefined {
    return this.sock.address();
  }

  /** Sends a reply to a client from the service socket (source = VIP:port). */
  sendToClient(msg: Buffer, to: ReplyAddr): void {
    if (this.closed) return;
    if (!this.sock.sendTo(msg, to)) this.counters.sendErrors++;
  }

  private onMessage = (msg: Buffer, from: UdpSender): void => {
    this.counters.datagramsIn++;
    let c = this.clients.get(from.key);
    if (!c) {
      c = new UdpClient(this, from.key, from.flow(this.vip, this.vport), from.replyAddr());
      this.clients.set(from.key, c);
      c.listed = true;
      this.append(c);
    } else {
      this.touch(c);
    }
    if (this.svc.isOnePacket) { this.onePacket(c, msg); return; }
    const s = c.session;
    if (s && s.conn.alive) {
      s.conn.inData(msg.length);
      s.send(msg);
      return;
    }
    c.endSession();
    const conn = this.engine.open(this.svc, 'udp', c.flow, msg.length);
    if (typeof conn === 'string') { this.counters.refused++; this.forgetIfIdle(c); return; }
    const u = this.upstream(c, conn);
    if (!u) { this.forgetIfIdle(c); return; }
    c.session = u;
    u.send(msg);
  };

  /** A new upstream socket for `c`, within the plane's socket budget; undefined when none is left. */
  private upstream(c: UdpClient, conn: EngineConn): Upstream | undefined {
    if (!this.budget.take(this) && !(this.budget.reclaim(c) && this.budget.take(this))) {
      this.counters.noSocketDrops++;
      conn.closed();
      return undefined;
    }
    this.counters.sessionsOpened++;
    const u = new Upstream(this, c, conn);
    if (!u.opened) {
      // A native socket that cannot be opened or connected fails here; a Node one reports it later (upstreamFailed).
      this.budget.give(this);
      this.counters.upstreamErrors++;
      conn.closed();
      return undefined;
    }
    return u;
  }

  /** Closes the idlest session of this service (not `keep`'s) to free its sockets. */
  evictIdlest(keep: unknown): boolean {
    // Every listed client holds a socket (forgetIfIdle), except `keep` while it asks for one.
    const victim = this.oldest === keep ? this.oldest?.newer : this.oldest;
    if (!victim) return false;
    victim.close();
    this.forget(victim);
    this.counters.sessionsEvicted++;
    return true;
  }

  /** A client left without a socket (refused, no socket to spare, its upstream failed) holds nothing: forget it. */
  private forgetIfIdle(c: UdpClient): void {
    if (!c.holdsSocket) this.forget(c);
  }

  /** A client's datagram, either way: it becomes the most recently active. */
  touch(c: UdpClient): void {
    c.lastActive = this.clock.now;
    if (c === this.newest || !c.listed) return;
    this.unlink(c);
    this.append(c);
  }

  private append(c: UdpClient): void {
    c.older = this.newest;
    c.newer = undefined;
    if (this.newest) this.newest.newer = c;
    else this.oldest = c;
    this.newest = c;
  }

  private unlink(c: UdpClient): void {
    if (c.older) c.older.newer = c.newer;
    else this.oldest = c.newer;
    if (c.newer) c.newer.older = c.older;
    else this.newest = c.older;
    c.older = c.newer = undefined;
  }

  /** Drops a client from the Map and the age list (its sockets are closed already, or it had none). */
  private forget(c: UdpClient): void {
    if (!c.listed) return; // forgotten already (the key may name a newer client)
    c.listed = false;
    this.clients.delete(c.key);
    this.unlink(c);
  }

  /** An upstream socket failed before it was connected: its session ends. */
  upstreamFailed(u: Upstream): void {
    if (u.isClosed) return;
    this.counters.upstreamErrors++;
    const c = u.client;
    u.close();
    u.conn.closed();
    if (c.session === u) c.session = undefined;
    if (c.byDest?.get(u.conn.dest) === u) c.byDest.delete(u.conn.dest);
    this.forgetIfIdle(c);
  }

  /** -o: each datagram scheduled on its own (spec §2.8). */
  private onePacket(c: UdpClient, msg: Buffer): void {
    const conn = this.engine.open(this.svc, 'udp', c.flow, msg.length);
    if (typeof conn === 'string') { this.counters.refused++; this.forgetIfIdle(c); return; }
    const byDest = (c.byDest ??= new Map());
    let u = byDest.get(conn.dest);
    if (!u) {
      u = this.upstream(c, conn);
      if (!u) { this.forgetIfIdle(c); return; }
      byDest.set(conn.dest, u);
    } else {
      u.conn = conn;
    }
    u.send(msg);
    conn.closed();
  }

  /** Ages out idle sessions (udp timeout, spec §2.6): the idlest first, up to the first that is not. */
  sweep(now: number): void {
    const idle = this.engine.udpIdleMs();
    for (let c = this.oldest; c !== undefined && now - c.lastActive >= idle;) {
      const next = c.newer;
      this.counters.sessionsExpired++;
      c.close();
      this.forget(c);
      c = next;
    }
  }

  /** Closes the sessions (and -o upstreams) whose real server matches (expire_nodest_conn). */
  abortWhere(pred: (dest: Destination) => boolean): number {
    let n = 0;
    for (let c = this.oldest; c !== undefined;) {
      const next = c.newer;
      const d = c.session?.conn.dest;
      if (d && pred(d)) { c.endSession(); n++; }
      n += c.closeByDest(pred);
      this.forgetIfIdle(c);
      c = next;
    }
    return n;
  }

  /** Number of live sessions. */
  get sessionCount(): number {
    return this.clients.size;
  }

  /** Closes the service socket and every session. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.budget.leave(this);
    this.closeClients();
    return this.sock.close();
  }
}

/** The PROXY v2 DGRAM header for a client's datagrams (none when its family differs from the VIP's). */
function dgramHeader(flow: FlowAddrs, l: UdpListener): Buffer | undefined {
  const src: IpAddress | undefined = flow.clientAddr ?? parseIp(flow.clientIp);
  const dst = l.vipAddr;
  return src && dst && src.family === dst.family
    ? encodeProxyV2({ transport: 'udp', src, srcPort: flow.clientPort, dst, dstPort: l.vport })
    : undefined;
}
