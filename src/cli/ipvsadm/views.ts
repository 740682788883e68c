// Small read-only views the formatters take for what the service table does not hold itself:
// rate estimates, connection entries, sync daemons and the three protocol timeouts.
import type { Endpoint, IpAddress } from '../../core/net/addr.js';
import type { Destination } from '../../core/service/destination.js';
import type { VirtualService } from '../../core/service/virtual-service.js';

/** Rate estimator values (per second, already rounded as the kernel reports them, spec §5.8). */
export interface Rates {
  readonly cps: number;
  readonly inpps: number;
  readonly outpps: number;
  readonly inbps: number;
  readonly outbps: number;
}

/** All-zero rates (what an object without an estimator shows). */
export const ZERO_RATES: Rates = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };

/** Where the formatters get rates from: one call per service or destination. */
export type RatesView = (obj: VirtualService | Destination) => Rates;

/** One connection entry as /proc/net/ip_vs_conn shows it (spec §5.5). */
export interface ConnEntryView {
  /** ip_vs_proto_name: "TCP", "UDP", "SCTP", "IP" (fwmark templates), "IP_<n>" otherwise. */
  readonly protocol: string;
  readonly client: Endpoint;
  /** For fwmark templates: the mark rendered as an IPv4 address, port 0. */
  readonly virtual: Endpoint;
  readonly dest: Endpoint;
  /** State name: "ESTABLISHED", "UDP", "NONE", "ASSURED" (templates), ... */
  readonly stateName: string;
  /** Remaining seconds (rounded down). */
  readonly expiresS: number;
  /** Persistence engine name and data (e.g. "sip" and a Call-ID), when the entry has pe data. */
  readonly peName?: string;
  readonly peData?: string;
  /** For /proc/net/ip_vs_conn_sync: whether the entry came from the sync daemon. */
  readonly fromSync?: boolean;
}

/** One running sync daemon, as `ipvsadm -L --daemon` shows it (spec §5.6). */
export interface SyncDaemonView {
  readonly state: 'master' | 'backup';
  readonly mcastIfn: string;
  readonly syncId: number;
  /** Printed only when present and non-zero (netlink, kernel >= 4.3). */
  readonly syncMaxlen?: number;
  readonly mcastGroup?: IpAddress;
  readonly mcastPort?: number;
  readonly mcastTtl?: number;
}

/** The three timeouts `--set` and `-L --timeout` deal with, in seconds (spec §5.6). */
export interface Timeouts {
  readonly tcp: number;
  readonly tcpfin: number;
  readonly udp: number;
}
