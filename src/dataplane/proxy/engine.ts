// The narrow contract between the socket mechanics (tcp-proxy.ts, udp-proxy.ts) and the engine
// that decides and accounts. The socket code never touches the service table or the connection
// table itself: it reports socket events, and the engine turns them into the kernel's packet
// events (spec §2.4–§2.8), so `tsvsadm -L -n --stats` and `-c` see proxied connections as they
// would see forwarded ones. ipvs-engine.ts implements it over the core's Ipvs facade.
import type { IpAddress } from '../../core/net/addr.js';
import type { Destination } from '../../core/service/destination.js';
import type { Protocol } from '../../core/service/types.js';
import type { VirtualService } from '../../core/service/virtual-service.js';

/** The addresses of a flow as the sockets see them (client → VIP). */
export interface FlowAddrs {
  readonly clientIp: string;
  /**
   * The client address already parsed, when the socket layer has it (saves a parse per connection).
   * Shared: the native path interns IPv4 addresses (one object per value), so it is never written to.
   */
  readonly clientAddr?: IpAddress;
  readonly clientPort: number;
  readonly vip: string;
  readonly vport: number;
}

/** One connection the engine scheduled: where to connect, and the hooks that do the accounting. */
export interface EngineConn {
  /** The chosen real server. */
  readonly dest: Destination;
  /** dest.addr as text, for connect(). */
  readonly destHost: string;
  readonly destPort: number;
  /** The backend accepted (TCP): the handshake is complete, the conn is ESTABLISHED (spec §2.5). */
  established(): void;
  /** `bytes` went client → real server in `packets` chunks (default 1: one chunk, one packet). */
  inData(bytes: number, packets?: number): void;
  /** `bytes` went real server → client in `packets` chunks (default 1). */
  outData(bytes: number, packets?: number): void;
  /** The client half-closed (FIN from the client). */
  clientFin(): void;
  /** The real server half-closed (FIN from the real server). */
  serverFin(): void;
  /** Either side reset, or the proxy gave up on the conn (RST). */
  reset(): void;
  /** Both sockets are gone: the conn leaves the table now (TCP) or ages out (UDP). */
  closed(): void;
  /**
   * Connecting to dest failed: counts the attempt as reset and schedules again, excluding every
   * destination that failed for this client connection. undefined when nothing is left. A remote
   * engine (worker processes) answers asynchronously.
   */
  retry(): EngineConn | undefined | Promise<EngineConn | undefined>;
  /** The PROXY header version this conn's real server wants, when the engine knows it (workers). */
  readonly proxyProtocol?: 0 | 1 | 2;
  /** True while the engine still wants this conn (false once expired or its dest expired). */
  readonly alive: boolean;
}

/** Why a new flow got no connection; the proxy resets the client (TCP) or drops (UDP). */
export type RefuseReason = 'no-service' | 'no-dest' | 'drop';

/** The engine as the proxy sockets see it. */
export interface ProxyEngine {
  /**
   * Schedules a new client connection (TCP: the SYN) or datagram flow (UDP: its first datagram of
   * `length` bytes, accounted here) of `svc`.
   */
  open(svc: VirtualService, protocol: Protocol, flow: FlowAddrs, length: number): EngineConn | RefuseReason;
  /** Idle timeout for a TCP conn: established, or half-closed (tcpfin), in ms (spec §2.5). */
  tcpIdleMs(halfClosed: boolean): number;
  /** UDP session timeout in ms (spec §2.6). */
  udpIdleMs(): number;
  /** expire_nodest_conn (spec §2.9): close conns of removed destinations. */
  expireNodestConn(): boolean;
  /** Periodic work (timers of the connection table); the plane calls it about once a second. */
  tick(): void;
}
