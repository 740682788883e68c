// The vocabulary of the service table: protocols, forwarding methods, keys and the flag bits the
// kernel uses (include/uapi/linux/ip_vs.h), spec §2.3.
import type { AddressFamily, IpAddress } from '../net/addr.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/**
 * How packets reach a destination. masq/droute/tunnel/local are the kernel's (Masq, Route, Tunnel,
 * Local); fullnat is tsvs's own (DNAT + SNAT to a director address pool), spec §3.
 */
export type ForwardMethod = 'masq' | 'droute' | 'tunnel' | 'local' | 'fullnat';

/** The methods whose replies come back through the director (NAT and full NAT rewrite them there). */
export function repliesThroughDirector(m: ForwardMethod | undefined): boolean {
  return m === 'masq' || m === 'fullnat';
}

export type TunnelType = 'ipip' | 'gue' | 'gre';
export type TunnelCsum = 'nocsum' | 'csum' | 'remcsum';

/** Service flags (spec §2.3). */
export const SVC_F_PERSISTENT = 0x0001;
export const SVC_F_HASHED = 0x0002;
export const SVC_F_ONEPACKET = 0x0004;
export const SVC_F_SCHED1 = 0x0008;
export const SVC_F_SCHED2 = 0x0010;
export const SVC_F_SCHED3 = 0x0020;
export const SVC_F_SCHED_MASK = SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3;
/** Aliases with the meaning sh and mh give SCHED1/SCHED2 (spec §1). */
export const SVC_F_SH_FALLBACK = SVC_F_SCHED1;
export const SVC_F_SH_PORT = SVC_F_SCHED2;
export const SVC_F_MH_FALLBACK = SVC_F_SCHED1;
export const SVC_F_MH_PORT = SVC_F_SCHED2;

/** Destination status flags (spec §2.3). */
export const DEST_F_AVAILABLE = 0x0001;
export const DEST_F_OVERLOAD = 0x0002;
/**
 * tsvs only: skipped by the scheduler for one call (withExcluded, destination.ts), as OVERLOAD is;
 * a bit of its own, so the OVERLOAD that thresholds keep is never saved and restored around it.
 * Set only inside that synchronous call, so no listing ever sees it.
 */
export const DEST_F_EXCLUDED = 0x8000;

/** ipvsadm's default persistence timeout (IPVS_SVC_PERSISTENT_TIMEOUT), spec §2.7. */
export const DEFAULT_PERSISTENT_TIMEOUT_S = 360;
/** Longest persistence timeout ipvsadm accepts (31 days), spec §5.2. */
export const MAX_PERSISTENT_TIMEOUT_S = 2678400;

/** A virtual service is found by (protocol, VIP, port) or by firewall mark. */
export type ServiceKey =
  | { readonly kind: 'addr'; readonly protocol: Protocol; readonly addr: IpAddress; readonly port: number }
  | { readonly kind: 'fwmark'; readonly fwmark: number; readonly family: AddressFamily };

/** What `-A`/`-E` set on a service. */
export interface ServiceConfig {
  readonly key: ServiceKey;
  /** Scheduler name; "none" means no scheduler (spec §1). */
  readonly scheduler: string;
  /** PERSISTENT | ONEPACKET | SCHED1..3 bits. */
  readonly flags: number;
  /** Persistence timeout in seconds (meaningful with SVC_F_PERSISTENT). */
  readonly timeoutS: number;
  /**
   * Persistence granularity as the kernel keeps it: for IPv4 the mask as a 32-bit value
   * (0xffffffff = /32), for IPv6 the prefix length (128 by default).
   */
  readonly netmask: number;
  /** Persistence engine name (only "sip" exists), or undefined. */
  readonly pe?: string;
}

/** What `-a`/`-e` set on a destination. */
export interface DestConfig {
  readonly addr: IpAddress;
  readonly port: number;
  readonly method: ForwardMethod;
  readonly weight: number;
  readonly uThreshold: number;
  readonly lThreshold: number;
  readonly tunType: TunnelType;
  readonly tunPort: number;
  readonly tunCsum: TunnelCsum;
}

/** Defaults for the optional parts of a DestConfig (ipvsadm's defaults, spec §5.2). */
export const DEST_DEFAULTS = {
  method: 'droute',
  weight: 1,
  uThreshold: 0,
  lThreshold: 0,
  tunType: 'ipip',
  tunPort: 0,
  tunCsum: 'nocsum',
} as const satisfies Partial<DestConfig>;

/** The default netmask for a family: /32 as 0xffffffff, or prefix 128. */
export function defaultNetmask(family: AddressFamily): number {
  return family === 4 ? 0xffffffff : 128;
}

/** The address family of a service key. */
export function serviceFamily(key: ServiceKey): AddressFamily {
  return key.kind === 'addr' ? key.addr.family : key.family;
}
