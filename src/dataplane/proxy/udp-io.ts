// The socket mechanics under the UDP proxy (udp-proxy.ts), behind one small contract so that the
// session logic (clients, the socket budget, eviction, one-packet scheduling, expiry) is written
// once: Node's dgram sockets (udp-node-io.ts), or raw descriptors on the native loop
// (native/native-udp.ts), where a session is a number instead of a dgram.Socket with its handles
// and listeners, which young-generation collections would copy until the session is evicted.
import type { IpAddress } from '../../core/net/addr.js';
import type { FlowAddrs } from './engine.js';

/** Where replies to a client go (the I/O layer's own form: text and port, or a sockaddr). */
export type ReplyAddr = unknown;

/** The sender of the datagram being delivered; valid only inside the delivery callback. */
export interface UdpSender {
  /** Equal for equal senders (ip and port). */
  readonly key: string | number;
  /** The sender as a client flow to vip:vport (called once per new client). */
  flow(vip: string, vport: number): FlowAddrs;
  /**
   * Where replies to the sender go (kept by the client); undefined when the key is that address
   * too (so a session does not hold the same number twice).
   */
  replyAddr(): ReplyAddr | undefined;
}

/** A service's datagram socket (VIP:port). */
export interface UdpServiceSocket {
  /**
   * Binds; datagrams go to `onDatagram` until close(). `data` may be a view of a buffer the next
   * datagram overwrites: use it before returning.
   */
  listen(onDatagram: (data: Buffer, from: UdpSender) => void): Promise<void>;
  /** The bound address. */
  address(): { address: string; port: number } | undefined;
  /** Sends to a client from the service's address; false when the send failed. */
  sendTo(data: Buffer, to: ReplyAddr): boolean;
  close(): Promise<void>;
}

/** What happens on an upstream socket, reported to its session. */
export interface UpstreamEvents {
  /** A datagram from the real server (may be a view: use it before returning). */
  onReply(data: Buffer): void;
  /** The socket could not be opened or connected: the session ends. */
  onFailed(): void;
  /** A send failed, or the real server's host answered with an ICMP error; the session stays. */
  onSendError(): void;
  /** A datagram was dropped because too many were waiting for the socket to connect. */
  onQueueDrop(): void;
}

/**
 * A session's socket connected to its real server. `data` handed to send() and sendTo() always
 * comes from the same UdpIo's delivery (a listener uses one UdpIo), so an implementation may keep
 * it (Node's queue while connecting keeps its own dgram buffers).
 */
export interface UdpUpstreamSocket {
  /** Sends `data`, with `header` (a PROXY v2 DGRAM header) in front when given. */
  send(data: Buffer, header: Buffer | undefined): void;
  close(): void;
}

/** Opens the sockets of one plane's UDP listeners. */
export interface UdpIo {
  readonly kind: 'native' | 'node';
  serviceSocket(host: string, port: number, onError: () => void): UdpServiceSocket;
  /**
   * A socket connected to addr:port (`host` is addr as text). undefined when it cannot be opened
   * now (events.onFailed may also come later, while a Node socket connects).
   */
  upstream(addr: IpAddress, host: string, port: number, events: UpstreamEvents): UdpUpstreamSocket | undefined;
}
