// The UDP proxy's sockets as Node dgram sockets (udp-io.ts): the portable path, and the one a
// bind host that is not an IP address uses.
import dgram from 'node:dgram';
import type { IpAddress } from '../../core/net/addr.js';
import { unmapIp } from './cidr.js';
import type { FlowAddrs } from './engine.js';
import type { ReplyAddr, UdpIo, UdpSender, UdpServiceSocket, UdpUpstreamSocket, UpstreamEvents } from './udp-io.js';

/**
 * The upstream socket's owner, so that every socket shares the three handlers below instead of
 * carrying closures of its own: sessions live until the udp timeout or an eviction, long enough to
 * be copied by young-generation collections, and fewer objects per session make those cheaper
 * (bench/udp-dns.sh).
 */
const OWNER = Symbol('tsvs.upstream');
type OwnedSocket = dgram.Socket & { [OWNER]: NodeUpstream };

function onUpstreamMessage(this: OwnedSocket, msg: Buffer): void {
  this[OWNER].events.onReply(msg);
}

// connect() has no callback, so Node reports its errors (no route, bad address) as 'error', like
// bind errors (EMFILE, no ephemeral port): while the upstream is not connected either means there
// is none, and the session ends so that the client's next datagram schedules a fresh one. Later
// errors come from receiving (an ICMP port unreachable answered by the real server's host).
function onUpstreamError(this: OwnedSocket): void {
  const u = this[OWNER];
  if (u.pending) u.events.onFailed();
  else u.events.onSendError();
}

function onUpstreamConnect(this: OwnedSocket): void {
  this[OWNER].onConnect();
}

/** Most datagrams queued per session while its Node socket connects (the native path connects at once). */
const MAX_PENDING = 64;

class NodeUpstream implements UdpUpstreamSocket {
  private readonly sock: OwnedSocket;
  /** Datagrams (and their headers) waiting for the connect; undefined once connected. */
  pending: Array<[Buffer, Buffer | undefined]> | undefined = [];
  private closed = false;

  constructor(host: string, port: number, family: 4 | 6, readonly events: UpstreamEvents) {
    const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4') as OwnedSocket;
    sock[OWNER] = this;
    this.sock = sock;
    sock.on('message', onUpstreamMessage);
    sock.on('error', onUpstreamError);
    sock.on('connect', onUpstreamConnect);
    sock.connect(port, host);
  }

  onConnect(): void {
    // Node emits 'connect' on the next tick even for a socket closed (evicted) in between.
    const q = this.pending;
    this.pending = undefined;
    if (this.closed) return;
    if (q) for (const [m, h] of q) this.sendNow(m, h);
  }

  send(data: Buffer, header: Buffer | undefined): void {
    if (this.pending) {
      if (this.pending.length >= MAX_PENDING) { this.events.onQueueDrop(); return; }
      this.pending.push([data, header]);
      return;
    }
    this.sendNow(data, header);
  }

  private sendNow(data: Buffer, header: Buffer | undefined): void {
    try {
      if (header) this.sock.send([header, data]);
      else this.sock.send(data);
    } catch {
      this.events.onSendError();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { this.sock.close(); } catch { /* already closed */ }
  }
}

/** A Node reply address. */
interface NodeReplyAddr { readonly ip: string; readonly port: number }

/** The sender of the datagram being delivered: one per socket, refilled for each datagram (UdpSender is valid only inside the callback). */
class NodeSender implements UdpSender {
  key = '';
  private rinfo!: dgram.RemoteInfo;
  of(rinfo: dgram.RemoteInfo): this {
    this.rinfo = rinfo;
    this.key = `${rinfo.address}|${rinfo.port}`;
    return this;
  }
  flow(vip: string, vport: number): FlowAddrs {
    return { clientIp: unmapIp(this.rinfo.address), clientPort: this.rinfo.port, vip, vport };
  }
  replyAddr(): NodeReplyAddr {
    return { ip: this.rinfo.address, port: this.rinfo.port };
  }
}

class NodeServiceSocket implements UdpServiceSocket {
  private sock: dgram.Socket | undefined;

  constructor(private readonly host: string, private readonly port: number, private readonly onError: () => void) {}

  listen(onDatagram: (data: Buffer, from: UdpSender) => void): Promise<void> {
    const sock = dgram.createSocket({ type: this.host.includes(':') ? 'udp6' : 'udp4' });
    this.sock = sock;
    return new Promise((resolve, reject) => {
      // Node's dgram keeps the handle of a socket whose bind failed: close it, or every retry leaks a descriptor.
      const onErr = (e: Error) => { try { sock.close(); } catch { /* closed already */ } reject(e); };
      sock.once('error', onErr);
      sock.bind({ address: this.host, port: this.port, exclusive: true }, () => {
        sock.removeListener('error', onErr);
        sock.on('error', this.onError);
        const sender = new NodeSender();
        sock.on('message', (msg, rinfo) => onDatagram(msg, sender.of(rinfo)));
        resolve();
      });
    });
  }

  address(): { address: string; port: number } | undefined {
    try { return this.sock?.address(); } catch { return undefined; }
  }

  sendTo(data: Buffer, to: ReplyAddr): boolean {
    const a = to as NodeReplyAddr;
    try { this.sock?.send(data, a.port, a.ip); return true; } catch { return false; }
  }

  close(): Promise<void> {
    const sock = this.sock;
    return new Promise((resolve) => {
      if (!sock) { resolve(); return; }
      try { sock.close(() => resolve()); } catch { resolve(); }
    });
  }
}

/** Node's dgram sockets. */
export const NODE_UDP_IO: UdpIo = {
  kind: 'node',
  serviceSocket: (host, port, onError) => new NodeServiceSocket(host, port, onError),
  upstream: (addr: IpAddress, host, port, events) => new NodeUpstream(host, port, addr.family, events),
};
