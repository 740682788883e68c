// The net.ipv4.vs.* settings the connection layer obeys (spec §4), with the kernel's defaults and
// validation. Names are the kernel's so that `sysctl net.ipv4.vs.<name>` maps one to one.
import { TsvsError } from '../errors.js';

/** The connection-layer sysctls (spec §4). All are integers, as in /proc/sys/net/ipv4/vs. */
export interface Sysctls {
  /** Available-memory threshold in pages for the defense modes (spec §2.10). */
  amemthresh: number;
  /** drop_packet rate in mode 3: drop 1 of every am_droprate new-connection packets. */
  am_droprate: number;
  /** Defense 0..3: randomly drop entries (spec §2.10). Mode 1 becomes 2 while memory is low. */
  drop_entry: number;
  /** Defense 0..3: drop a share of new-connection packets. */
  drop_packet: number;
  /** Defense 0..3: use the stricter TCP state table (spec §2.5). */
  secure_tcp: number;
  /** Forward to the original destination when a fwmark service has no server (spec §2.6). */
  cache_bypass: number;
  /** Expire connections of removed destinations, and reschedule their packets (spec §2.9). */
  expire_nodest_conn: number;
  /** Invalidate persistence templates of weight-0 destinations (spec §2.7). */
  expire_quiescent_template: number;
  /** Any non-RST TCP packet may create a connection (spec §2.5). */
  sloppy_tcp: number;
  /** Any SCTP chunk but ABORT may create a connection (spec §2.6). */
  sloppy_sctp: number;
  /** Bitmap: 1 reschedule SYNs reusing TIME_WAIT/CLOSE entries; 2 also FIN_WAIT of DR/TUN (spec §2.9). */
  conn_reuse_mode: number;
  /** ICMP errors may schedule new connections (spec §2.6). */
  schedule_icmp: number;
  /** Answer NAT replies without a connection with ICMP port unreachable to the real server. */
  nat_icmp_send: number;
  /** Send FRAG_NEEDED for DF packets over the MTU (spec §3). Read by the data planes, not here. */
  pmtu_disc: number;
  /** Keep conntrack entries for IPVS connections (spec §4.1): SYNs reusing such an entry are dropped. */
  conntrack: number;
  /** Re-route NAT replies as if originated by the director. Read by the data planes, not here. */
  snat_reroute: number;
  /** Disable the director function while in backup sync mode. Read by the sync layer, not here. */
  backup_only: number;
  /** Mark unknown-protocol packets so IPVS ignores them. Read by the data planes, not here. */
  ignore_tunneled: number;
}

/** The kernel's defaults (spec §4 table). */
export const SYSCTL_DEFAULTS: Readonly<Sysctls> = Object.freeze({
  amemthresh: 1024,
  am_droprate: 10,
  drop_entry: 0,
  drop_packet: 0,
  secure_tcp: 0,
  cache_bypass: 0,
  expire_nodest_conn: 0,
  expire_quiescent_template: 0,
  sloppy_tcp: 0,
  sloppy_sctp: 0,
  conn_reuse_mode: 1,
  schedule_icmp: 0,
  nat_icmp_send: 0,
  pmtu_disc: 1,
  conntrack: 0,
  snat_reroute: 1,
  backup_only: 0,
  ignore_tunneled: 0,
});

/** The sysctl names, in the order above. */
export type SysctlName = keyof Sysctls;
export const SYSCTL_NAMES = Object.keys(SYSCTL_DEFAULTS) as SysctlName[];

/** The three defense modes, whose writes re-evaluate the defense level at once (proc_do_defense_mode). */
export const DEFENSE_SYSCTLS: ReadonlySet<SysctlName> = new Set<SysctlName>(['drop_entry', 'drop_packet', 'secure_tcp']);

const BOOLEAN_SYSCTLS: ReadonlySet<SysctlName> = new Set<SysctlName>([
  'cache_bypass', 'expire_nodest_conn', 'expire_quiescent_template', 'sloppy_tcp', 'sloppy_sctp',
  'schedule_icmp', 'nat_icmp_send', 'pmtu_disc', 'conntrack', 'snat_reroute', 'backup_only', 'ignore_tunneled',
]);

const INT_MAX = 2147483647;

/** Throws TsvsError EINVAL when `value` is not acceptable for `name`. */
export function validateSysctl(name: string, value: number): asserts name is SysctlName {
  if (!Object.prototype.hasOwnProperty.call(SYSCTL_DEFAULTS, name)) {
    throw new TsvsError('EINVAL', `Unknown sysctl net.ipv4.vs.${name} (known: ${SYSCTL_NAMES.join(', ')})`);
  }
  const n = name as SysctlName;
  if (!Number.isInteger(value)) throw new TsvsError('EINVAL', `Cannot set net.ipv4.vs.${n} as the value must be an integer: current value is ${value}`);
  let lo = 0;
  let hi = INT_MAX;
  if (DEFENSE_SYSCTLS.has(n)) hi = 3; // the kernel rejects defense modes outside 0..3 (spec §4)
  else if (BOOLEAN_SYSCTLS.has(n)) hi = 1;
  else if (n === 'conn_reuse_mode') hi = 3;
  else if (n === 'am_droprate') lo = 1; // 0 would never drop in mode 3; the kernel's default is 10
  if (value < lo || value > hi) {
    throw new TsvsError('EINVAL', `Cannot set net.ipv4.vs.${n} as the value must be ${lo}..${hi}: current value is ${value}`);
  }
}

/** Builds a full, validated settings object from the defaults and `overrides`. */
export function makeSysctls(overrides: Partial<Sysctls> = {}): Sysctls {
  const s: Sysctls = { ...SYSCTL_DEFAULTS };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    validateSysctl(k, v);
    s[k] = v;
  }
  return s;
}
