// The daemon's configuration file (tsvs.yaml): its zod schema, its TypeScript types and its
// defaults. The schema checks shapes, types and ranges; rules that relate several fields
// (families, forwarding vs tunnel options, duplicates, ...) live in validate.ts. Every object is
// strict: an unknown key is an error, so a typo never silently falls back to a default.
// Option semantics and defaults mirror ipvsadm and keepalived (spec §4, §5.2, §7).
import { z } from 'zod';
import { CHECK_TYPES, checkSchema, rsHealthSchema, scriptSchema, serviceHealthSchema, type urlSchema } from './schema-checks.js';
import { INT_MAX, MAX_TIMEOUT_S, U32_MAX, absPath, bool, intIn, ipText, isOneOf, nonZeroPort, oneOf, port, secondsIn, text } from './schema-values.js';

/** Schedulers tsvs implements (spec §1); ipvsadm's default is wlc. */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const;
/** Scheduler flags as `ipvsadm -b` spells them (spec §5.2). */
export const SCHED_FLAGS = ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port', 'flag-1', 'flag-2', 'flag-3'] as const;
/** Forwarding methods (spec §3; fullnat is tsvs's own). */
export const FORWARDING = ['masq', 'droute', 'tunnel', 'fullnat', 'local'] as const;

/** Data planes a config can name (dataplane.kind). */
export const DATAPLANE_KINDS = ['proxy', 'packet'] as const;
/** What a daemon runs: a data plane, or none (control only: tsvs run --dataplane none). */
export const RUN_DATAPLANES = [...DATAPLANE_KINDS, 'none'] as const;
export type RunDataplane = (typeof RUN_DATAPLANES)[number];
export const isRunDataplane = (s: string): s is RunDataplane => isOneOf(RUN_DATAPLANES, s);

/** The packet plane's fast path settings (dataplane.packet.offload, tsvs run/lab --offload). */
export const OFFLOAD_MODES = ['none', 'xdp', 'xdp-native', 'tc'] as const;
export type OffloadMode = (typeof OFFLOAD_MODES)[number];
export const isOffloadMode = (s: string): s is OffloadMode => isOneOf(OFFLOAD_MODES, s);

/** Tunnel options of a tunnel real server (`--tun-type/--tun-port/--tun-*csum`, spec §5.2). */
export const tunnelSchema = z.object({
  type: oneOf(['ipip', 'gue', 'gre'] as const).default('ipip'),
  /** UDP port of the GUE tunnel: required for gue, illegal otherwise. */
  port: nonZeroPort().optional(),
  csum: oneOf(['nocsum', 'csum', 'remcsum'] as const).default('nocsum'),
}).strict();

// ----- services -----

export const realServerSchema = z.object({
  address: ipText(),
  /** Default: the service port (forced to it for droute/tunnel, spec §5.2); fwmark services: 0. */
  port: port().optional(),
  weight: intIn(0, 65535).default(1),
  /** Default: the service's forwarding. */
  forwarding: oneOf(FORWARDING).optional(),
  /** Connection limit (0 = none), `-x`. */
  upperThreshold: intIn(0, INT_MAX).default(0),
  /** Connections below which an overloaded server takes new ones again (0 = none), `-y`. */
  lowerThreshold: intIn(0, INT_MAX).default(0),
  /** Tunnel options (tunnel forwarding only); default: the service's. */
  tunnel: tunnelSchema.optional(),
  /** PROXY protocol header sent to the real server (proxy dataplane). */
  proxyProtocol: oneOf(['none', 'v1', 'v2'] as const).default('none'),
  health: rsHealthSchema.optional(),
  notifyUp: scriptSchema.optional(),
  notifyDown: scriptSchema.optional(),
  checks: z.array(checkSchema, { invalid_type_error: 'must be a list of checks' }).default([]),
}).strict();

export const sorryServerSchema = z.object({
  address: ipText(),
  port: port().optional(),
  forwarding: oneOf(FORWARDING).optional(),
  tunnel: tunnelSchema.optional(),
  /** Keep it in the table with weight 0 while quorum holds (sorry_server_inhibit). */
  inhibit: bool().default(false),
}).strict();

export const persistenceSchema = z.object({
  timeout: intIn(1, 2678400).default(360),
  /** Granularity: dotted IPv4 mask ("255.255.255.0") or IPv6 prefix length (64). Default /32 or /128. */
  netmask: z.union([z.string(), z.number().int()], {
    errorMap: () => ({ message: 'must be a dotted IPv4 netmask or an IPv6 prefix length 1..128' }),
  }).optional(),
}).strict();

export const serviceSchema = z.object({
  /** A label for logs and metrics. */
  name: text().optional(),
  protocol: oneOf(['tcp', 'udp', 'sctp'] as const).optional(),
  address: ipText().optional(),
  port: port().optional(),
  fwmark: intIn(1, U32_MAX).optional(),
  /** Address family of a fwmark service. */
  family: oneOf(['ipv4', 'ipv6'] as const).optional(),
  scheduler: oneOf(SCHEDULERS).default('wlc'),
  schedFlags: z.array(oneOf(SCHED_FLAGS), { invalid_type_error: 'must be a list of scheduler flags' }).default([]),
  persistence: persistenceSchema.optional(),
  /** One-packet scheduling (udp and fwmark services). */
  ops: bool().default(false),
  /** Persistence engine. */
  pe: oneOf(['sip'] as const).optional(),
  /** Default forwarding of the real servers (ipvsadm's default: droute). */
  forwarding: oneOf(FORWARDING).default('droute'),
  tunnel: tunnelSchema.optional(),
  health: serviceHealthSchema.default({}),
  /** Least sum of weights of live real servers for the service to be up. */
  quorum: intIn(1, INT_MAX).default(1),
  hysteresis: intIn(0, INT_MAX).default(0),
  quorumUp: scriptSchema.optional(),
  quorumDown: scriptSchema.optional(),
  sorryServer: sorryServerSchema.optional(),
  realServers: z.array(realServerSchema, { invalid_type_error: 'must be a list of real servers' }).default([]),
}).strict();

// ----- daemon sections -----

/** The largest connection table a config may ask for (a 1 GiB record slab at full). */
const MAX_CONNECTIONS = 16_777_216;

export const dataplaneSchema = z.object({
  kind: oneOf(DATAPLANE_KINDS).default('proxy'),
  /** Interfaces the packet dataplane attaches to (packet only, required there). */
  interfaces: z.array(text(), { invalid_type_error: 'must be a list of interface names' }).default([]),
  /**
   * Entries the connection table holds at most (connections and persistence templates; memory
   * grows with use, about 93 bytes each). Entries stay for their state's timeout (TIME_WAIT: 2
   * minutes), so with many clients the table holds about new connections per second × 120.
   */
  maxConnections: intIn(1024, MAX_CONNECTIONS).default(4_194_304),
  proxy: z.object({
    /** 0 or 1: the daemon proxies alone; N >= 2: N worker processes (docs/adr/0002-proxy-workers.md). */
    workers: intIn(0, 1024).default(0),
    /** TCP sockets: native descriptors on Node's loop, Node's net.Socket, or native where available (docs/adr/0004-native-tcp-io.md). */
    tcpIo: oneOf(['auto', 'native', 'node'] as const).default('auto'),
    /** UDP sockets: the same choices (native: one descriptor per session instead of a dgram.Socket; src/dataplane/proxy/udp-io.ts). */
    udpIo: oneOf(['auto', 'native', 'node'] as const).default('auto'),
    /** Seconds to wait for a real server to accept. */
    connectTimeout: secondsIn(0.001, 3600).default(5),
    /** Other real servers tried after a failed connect. */
    retries: intIn(0, 16).default(1),
    /** Peers (CIDRs) whose PROXY protocol header is trusted for the client address. */
    proxyProtocolTrusted: z.array(text(), { invalid_type_error: 'must be a list of CIDRs' }).default([]),
    /** Upstream sockets UDP sessions may hold at once; 0: half the process's descriptor limit. */
    maxUdpSockets: intIn(0, 16_777_216).default(0),
  }).strict().default({}),
  packet: z.object({
    /**
     * The kernel fast path for established direct-routing flows (docs/adr/0005-xdp-fast-path.md):
     * none, xdp (generic XDP: any driver), xdp-native (the driver's XDP; veth, most NICs) or tc
     * (a tcx ingress program: any driver, Linux 6.6+; no copy of each frame, unlike generic XDP).
     */
    offload: oneOf(OFFLOAD_MODES).default('none'),
    /** Flows the fast path holds at most (more stay in user space). */
    offloadFlows: intIn(1024, 16_777_216).default(262_144),
    /**
     * Forwarding worker threads, one receive ring each per interface in a PACKET_FANOUT group
     * steered by client address (a client's connections stay on one worker; NAT and full-NAT
     * replies are steered to the worker that owns their connection). More than 1 needs a
     * full-NAT port per worker and no fast path, which belongs to one worker
     * (docs/adr/0003-packet-plane.md, "Several workers").
     */
    workers: intIn(1, 64).default(1),
  }).strict().default({}),
  fullnat: z.object({
    /** Director addresses used as sources towards fullnat real servers. */
    localAddresses: z.array(ipText(), { invalid_type_error: 'must be a list of addresses' }).default([]),
    portRange: z.object({ min: nonZeroPort().default(1024), max: nonZeroPort().default(65535) }).strict().default({}),
  }).strict().default({}),
}).strict();

export const controlSchema = z.object({
  /** Unix socket tsvsadm talks to. */
  socket: absPath().default('/run/tsvs/tsvs.sock'),
}).strict();

export const apiSchema = z.object({
  enabled: bool().default(true),
  /** ip:port or [ip6]:port. Anything but loopback needs a token or mTLS. */
  listen: text().default('127.0.0.1:9180'),
  /** Bearer token (prefer tokenFile). */
  token: text().optional(),
  tokenFile: absPath().optional(),
  tls: z.object({
    cert: absPath(),
    key: absPath(),
    /** CA for client certificates: setting it requires them (mTLS). */
    clientCa: absPath().optional(),
  }).strict().optional(),
}).strict();

export const metricsSchema = z.object({
  enabled: bool().default(true),
  path: text().refine((s) => s.startsWith('/'), 'must start with /').default('/metrics'),
  /** Own listener (ip:port); default: served on the api listener. */
  listen: text().optional(),
}).strict();

export const timeoutsSchema = z.object({
  tcp: intIn(1, MAX_TIMEOUT_S).default(900),
  tcpfin: intIn(1, MAX_TIMEOUT_S).default(120),
  udp: intIn(1, MAX_TIMEOUT_S).default(300),
}).strict();

const flag = (def: 0 | 1) => intIn(0, 1, 'an integer').default(def);
const defense = () => intIn(0, 3).default(0);

/** net.ipv4.vs.* as the kernel spells them, with the kernel's defaults and ranges (spec §4). */
export const sysctlSchema = z.object({
  amemthresh: intIn(0, INT_MAX).default(1024),
  am_droprate: intIn(0, INT_MAX).default(10),
  drop_entry: defense(),
  drop_packet: defense(),
  secure_tcp: defense(),
  conntrack: flag(0),
  snat_reroute: flag(1),
  sync_version: flag(1),
  sync_ports: intIn(1, 64).refine((n) => (n & (n - 1)) === 0, 'must be a power of 2 1..64').default(1),
  sync_persist_mode: flag(0),
  /** Default: free buffer pages / 32, computed by the kernel. */
  sync_qlen_max: intIn(1, INT_MAX).optional(),
  sync_sock_size: intIn(0, INT_MAX).default(0),
  cache_bypass: flag(0),
  expire_nodest_conn: flag(0),
  sloppy_tcp: flag(0),
  sloppy_sctp: flag(0),
  expire_quiescent_template: flag(0),
  /** [threshold, period]: 0 <= threshold < period unless period is 0. */
  sync_threshold: z.tuple([intIn(0, INT_MAX), intIn(0, INT_MAX)], {
    errorMap: (issue, ctx) => (issue.code === 'invalid_type' || issue.code === 'too_small' || issue.code === 'too_big'
      ? { message: 'must be [threshold, period]' } : { message: ctx.defaultError }),
  }).default([3, 50]),
  sync_refresh_period: intIn(0, INT_MAX).default(0),
  sync_retries: intIn(0, 3).default(0),
  nat_icmp_send: flag(0),
  pmtu_disc: flag(1),
  backup_only: flag(0),
  /** Bitmap: 1 reschedule reused ports in TIME_WAIT/CLOSE, 2 also FIN_WAIT. */
  conn_reuse_mode: intIn(0, 3).default(1),
  schedule_icmp: flag(0),
  ignore_tunneled: flag(0),
  run_estimation: flag(1),
  /** CPU list like "0-3,6" (default: housekeeping CPUs). */
  est_cpulist: z.string({ invalid_type_error: 'must be a CPU list like "0-3,6"' })
    .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'must be a CPU list like "0-3,6"').optional(),
  est_nice: intIn(-20, 19).default(0),
  debug_level: intIn(0, 12).default(0),
  lblc_expiration: intIn(1, INT_MAX).default(86400),
  lblcr_expiration: intIn(1, INT_MAX).default(86400),
}).strict();

/** The whole tsvs.yaml. Every section is optional; an empty file is a daemon with no services. */
export const configSchema = z.object({
  dataplane: dataplaneSchema.default({}),
  control: controlSchema.default({}),
  api: apiSchema.default({}),
  metrics: metricsSchema.default({}),
  timeouts: timeoutsSchema.default({}),
  sysctl: sysctlSchema.default({}),
  services: z.array(serviceSchema, { invalid_type_error: 'must be a list of services' }).default([]),
}).strict();

/** A loaded, validated configuration with its defaults filled in. */
export type Config = z.output<typeof configSchema>;
/** What a user may write (defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
export type ServiceSpec = z.output<typeof serviceSchema>;
export type RealServerSpec = z.output<typeof realServerSchema>;
export type SorryServerSpec = z.output<typeof sorryServerSchema>;
export type TunnelSpec = z.output<typeof tunnelSchema>;
export type CheckSpec = z.output<typeof checkSchema>;
export type ScriptSpec = z.output<typeof scriptSchema>;
export type UrlSpec = z.output<typeof urlSchema>;
export type ServiceHealthSpec = z.output<typeof serviceHealthSchema>;
export type RealServerHealthSpec = z.output<typeof rsHealthSchema>;
export type SysctlSpec = z.output<typeof sysctlSchema>;
export type ForwardingName = (typeof FORWARDING)[number];
export type SchedulerName = (typeof SCHEDULERS)[number];
export type SchedFlagName = (typeof SCHED_FLAGS)[number];
export type CheckType = (typeof CHECK_TYPES)[number];
