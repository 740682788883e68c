// What a TCP service listener is to the plane, whichever I/O path carries it: Node sockets
// (tcp-proxy.ts) or native epoll (native/native-tcp.ts). Its settings, its counters and the coarse
// clock sessions stamp activity with.
import type { Destination } from '../../core/service/destination.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import type { Cidr } from './cidr.js';
import type { EngineConn } from './engine.js';
import type { ProxyProtocolVersion } from './proxy-protocol.js';

/** Per-service settings of the TCP proxy. */
export interface TcpServiceOptions {
  /** Give up on a connect attempt after this long (ms). */
  readonly connectTimeoutMs: number;
  /** How many more real servers to try after the first connect failure. */
  readonly retries: number;
  /** Peers allowed (and required) to start with a PROXY v1/v2 header. */
  readonly acceptProxyFrom: readonly Cidr[];
  /** How long a trusted peer has to send its PROXY header (ms). */
  readonly proxyHeaderTimeoutMs: number;
  /** Which PROXY header (if any) to send to a real server. */
  proxyProtocolFor(dest: Destination): ProxyProtocolVersion;
}

/** Counters of what the TCP proxy did that the engine does not count. */
export class TcpProxyCounters {
  accepted = 0;
  refused = 0;
  connectFailures = 0;
  connectTimeouts = 0;
  retries = 0;
  gaveUp = 0;
  clientResets = 0;
  serverResets = 0;
  idleTimeouts = 0;
  proxyHeaderInvalid = 0;
  proxyHeaderTimeouts = 0;
  expiredNodest = 0;
  /** Times accepting paused because the process ran out of descriptors or memory (native path). */
  acceptPaused = 0;
}

/** What the plane needs of a TCP listener, whichever I/O path carries it (Node sockets or native). */
export interface TcpServiceListener {
  svc: VirtualService;
  opts: TcpServiceOptions;
  readonly counters: TcpProxyCounters;
  readonly bindHost: string;
  readonly bindPort: number;
  readonly sessionCount: number;
  listen(backlog?: number): Promise<void>;
  stopAccepting(): Promise<void>;
  drained(): Promise<void>;
  sweep(now: number): void;
  abortWhere(pred: (s: { readonly conn: EngineConn | undefined }) => boolean): number;
}

/** A clock read once per sweep; sessions stamp activity with it (no syscall per chunk). */
export interface CoarseClock {
  now: number;
}
