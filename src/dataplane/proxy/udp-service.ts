// The UDP proxy's contract with the plane: per-service settings, and the counters of what the
// proxy did that the engine does not count (shared by every UDP listener of a plane, exported as
// tsvs_proxy_events_total{protocol="udp"}).
import type { Destination } from '../../core/service/destination.js';
import type { ProxyProtocolVersion } from './proxy-protocol.js';

/** Per-service settings of the UDP proxy. */
export interface UdpServiceOptions {
  /** Sends a PROXY v2 DGRAM header in front of every datagram to this real server when not 0. */
  proxyProtocolFor(dest: Destination): ProxyProtocolVersion;
}

/** What the UDP proxy did that the engine does not count. */
export class UdpProxyCounters {
  datagramsIn = 0;
  datagramsOut = 0;
  sessionsOpened = 0;
  sessionsExpired = 0;
  refused = 0;
  queueDrops = 0;
  /**
   * Socket errors after the upstream connected, or on the VIP socket: a send that throws (a closed
   * socket, a bad address; Node 20 drops errors of the send itself when there is no callback), or
   * an ICMP error for the real server (ECONNREFUSED when its port is closed), reported as 'error'.
   * The session stays: a later datagram may get through.
   */
  sendErrors = 0;
  /** Upstream sockets that could not be opened or connected (the session ends; the next datagram retries). */
  upstreamErrors = 0;
  /** Sessions closed before their timeout to free a socket for a new one (the socket budget was spent). */
  sessionsEvicted = 0;
  /** Sessions closed because their real server left the service (expire_nodest_conn=1, spec §2.9). */
  expiredNodest = 0;
  /** Datagrams dropped because no socket was left and no session of this service could give one up. */
  noSocketDrops = 0;
}
