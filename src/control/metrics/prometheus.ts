// Prometheus text exposition (format 0.0.4) of a director. The node_ipvs_* families reproduce what
// node_exporter's IPVS collector reports for the same kernel table (spec §8; node_exporter
// collector/ipvs_linux.go over prometheus/procfs ipvs.go), so existing dashboards and alerts keep
// working; the tsvs_* families add what /proc never exposed.
import { formatIp, type IpAddress } from '../../core/net/addr.js';
import type { Destination } from '../../core/service/destination.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import type { Rates } from '../../core/stats/counters.js';
import type { DirectorApi, DirectorEvent, PacketWorkerCounters } from '../director-api.js';
import { formatRealServerId, formatServiceId } from '../api/ids.js';

/** The content type of the text format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Counters of the control plane that the director does not derive from its table. */
export interface ControlCounters {
  readonly healthTransitions: number;
  readonly configReloads: { readonly success: number; readonly failure: number };
}

/** A DirectorApi that may count its own control events (optional; see ControlEventTally). */
export interface MetricsSource extends DirectorApi {
  controlCounters?(): ControlCounters;
}

/**
 * Counts control events from the director's event stream, for directors without
 * controlCounters(): every 'health' event is one transition, every 'reload' event one reload
 * (a failure when its data says ok: false or result: "failure").
 */
export class ControlEventTally {
  private health = 0;
  private success = 0;
  private failure = 0;
  private readonly unsubscribe: () => void;

  constructor(api: DirectorApi) {
    this.unsubscribe = api.onEvent((e) => this.count(e));
  }

  private count(e: DirectorEvent): void {
    if (e.kind === 'health') this.health++;
    else if (e.kind === 'reload') {
      if (e.data?.ok === false || e.data?.result === 'failure') this.failure++;
      else this.success++;
    }
  }

  counters(): ControlCounters {
    return { healthTransitions: this.health, configReloads: { success: this.success, failure: this.failure } };
  }

  stop(): void {
    this.unsubscribe();
  }
}

type Labels = ReadonlyArray<readonly [string, string]>;

/** Escapes a label value: backslash, double quote and line feed (exposition format 0.0.4). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Collects families and renders them; samples of a family are sorted by their label text. */
class Exposition {
  private readonly out: string[] = [];

  family(name: string, type: 'counter' | 'gauge', help: string, samples: ReadonlyArray<readonly [Labels, number]>): void {
    this.out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    const lines = samples.map(([labels, value]) => {
      const l = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
      return [l, `${name}${l} ${formatValue(value)}`] as const;
    });
    lines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [, line] of lines) this.out.push(line);
  }

  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

/**
 * An address as Go's net.IP.String() prints it, which node_exporter uses: IPv4 dotted, IPv6 per
 * RFC 5952, and IPv4-mapped IPv6 (::ffff:a.b.c.d) as the bare dotted IPv4 address.
 */
export function goIpString(a: IpAddress): string {
  const b = a.bytes;
  if (a.family === 6 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  return formatIp(a);
}

/**
 * node_exporter's backend labels for one destination, in its canonical order (spec §8):
 * TCP/UDP services: proto "TCP"/"UDP", local_mark ""; FWM services: proto "FWM", local_address
 * "", local_port "0" and local_mark the mark as the kernel prints it (%08X).
 * Undefined for SCTP services: procfs does not recognise their lines (see renderMetrics).
 */
export function nodeExporterLabels(svc: VirtualService, d: Destination): Labels | undefined {
  const k = svc.key;
  const remote: Labels = [['remote_address', goIpString(d.addr)], ['remote_port', String(d.port)]];
  if (k.kind === 'fwmark') {
    const mark = (k.fwmark >>> 0).toString(16).toUpperCase().padStart(8, '0');
    return [['local_address', ''], ['local_port', '0'], ...remote, ['proto', 'FWM'], ['local_mark', mark]];
  }
  if (k.protocol === 'sctp') return undefined;
  return [['local_address', goIpString(k.addr)], ['local_port', String(k.port)], ...remote, ['proto', k.protocol.toUpperCase()], ['local_mark', '']];
}

const RATE_FAMILIES: ReadonlyArray<readonly [keyof Rates, string, string]> = [
  ['cps', 'connections_per_second', 'connections scheduled per second'],
  ['inpps', 'incoming_packets_per_second', 'incoming packets per second'],
  ['outpps', 'outgoing_packets_per_second', 'outgoing packets per second'],
  ['inbps', 'incoming_bytes_per_second', 'incoming bytes per second'],
  ['outbps', 'outgoing_bytes_per_second', 'outgoing bytes per second'],
];

/** Renders every metric of `api`; `control` supplies the control counters when the api has none. */
export function renderMetrics(api: MetricsSource, control?: ControlCounters): string {
  const x = new Exposition();
  const table = api.table;
  const services = table.services();

  // Totals: /proc/net/ip_vs_stats shows the kernel's tot_stats since the last zeroing (spec §5.4, §8).
  const t = table.totals.snapshot();
  x.family('node_ipvs_connections_total', 'counter', 'The total number of connections made.', [[[], t.conns]]);
  x.family('node_ipvs_incoming_packets_total', 'counter', 'The total number of incoming packets.', [[[], t.inPkts]]);
  x.family('node_ipvs_outgoing_packets_total', 'counter', 'The total number of outgoing packets.', [[[], t.outPkts]]);
  x.family('node_ipvs_incoming_bytes_total', 'counter', 'The total amount of incoming data.', [[[], t.inBytes]]);
  x.family('node_ipvs_outgoing_bytes_total', 'counter', 'The total amount of outgoing data.', [[[], t.outBytes]]);

  // Backends whose label sets collapse are summed, as the collector does (e.g. an IPv4 and an
  // IPv6 fwmark service with the same mark and a shared real server).
  const sums = new Map<string, { labels: Labels; active: number; inactive: number; weight: number }>();
  for (const svc of services) {
    for (const d of svc.destinations) {
      const labels = nodeExporterLabels(svc, d);
      if (!labels) continue;
      const key = labels.map(([, v]) => v).join('\u0000');
      const s = sums.get(key) ?? { labels, active: 0, inactive: 0, weight: 0 };
      s.active += d.activeConns;
      s.inactive += d.inactConns;
      s.weight += d.weight;
      sums.set(key, s);
    }
  }
  const backends = [...sums.values()];
  x.family('node_ipvs_backend_connections_active', 'gauge', 'The current active connections by local and remote address.',
    backends.map((b) => [b.labels, b.active] as const));
  x.family('node_ipvs_backend_connections_inactive', 'gauge', 'The current inactive connections by local and remote address.',
    backends.map((b) => [b.labels, b.inactive] as const));
  x.family('node_ipvs_backend_weight', 'gauge', 'The current backend weight by local and remote address.',
    backends.map((b) => [b.labels, b.weight] as const));

  // tsvs_*: what operators always wanted next to those.
  const dp = api.dataplaneCounters();
  x.family('tsvs_drops_total', 'counter', 'Packets or connections dropped by the data plane, by reason.',
    Object.entries(dp.drops).map(([reason, n]) => [[['reason', reason]], n] as const));
  x.family('tsvs_connection_table_entries', 'gauge', 'Entries in the connection table (connections and templates).', [[[], dp.conns]]);
  x.family('tsvs_connection_table_capacity', 'gauge', 'Most entries the connection table holds.', [[[], dp.connsMax]]);
  if (dp.offload) {
    x.family('tsvs_offload_flows', 'gauge', 'Flows the XDP fast path forwards in the kernel now.', [[[], dp.offload.flows]]);
    x.family('tsvs_offload_packets_total', 'counter', 'Packets the XDP fast path forwarded (also counted in the service stats).', [[[], dp.offload.packets]]);
    x.family('tsvs_offload_installed_total', 'counter', 'Flows installed in the fast path, by how it sends their frames: out of the interface (egress), or straight into its veth peer (peer, tc only).', [
      [[['delivery', 'egress']], dp.offload.installed - dp.offload.installedToPeer], [[['delivery', 'peer']], dp.offload.installedToPeer],
    ]);
  }
  if (dp.packetWorkers) {
    const per = (f: (w: PacketWorkerCounters) => number) => dp.packetWorkers!.map((w) => [[['worker', String(w.index)]], f(w)] as const);
    x.family('tsvs_packet_rx_frames_total', 'counter', 'Frames a packet-plane forwarding worker read from its receive rings.', per((w) => w.rxFrames));
    x.family('tsvs_packet_tx_frames_total', 'counter', 'Frames a packet-plane forwarding worker sent.', per((w) => w.txFrames));
    x.family('tsvs_packet_ring_drops_total', 'counter', "Frames a packet-plane worker's receive rings had no room for.", per((w) => w.ringDrops));
    x.family('tsvs_packet_worker_up', 'gauge', 'Whether a packet-plane forwarding worker runs (0: it failed; the plane restarts its workers, at most 5 times a minute).', per((w) => (w.up ? 1 : 0)));
  }
  if (dp.packetHeldFrames) {
    const h = dp.packetHeldFrames;
    x.family('tsvs_packet_held_frames_total', 'counter', 'Frames the packet plane held while it resolved their next hop (ARP/NDP), and what became of them.',
      [[[['outcome', 'held']], h.held], [[['outcome', 'released']], h.released], [[['outcome', 'dropped']], h.dropped]]);
  }
  if (dp.proxy) {
    const events = (protocol: string, c: Readonly<Record<string, number>>) =>
      Object.entries(c).map(([k, n]) => [[['protocol', protocol], ['event', snakeCase(k)]], n] as const);
    x.family('tsvs_proxy_events_total', 'counter', 'Socket-level events of the proxy plane: accepts, connect failures and retries, resets, idle timeouts, UDP sessions opened and evicted, ...',
      [...events('tcp', dp.proxy.tcp), ...events('udp', dp.proxy.udp)]);
    x.family('tsvs_proxy_udp_sockets', 'gauge', 'Upstream sockets held by UDP sessions of the proxy plane.', [[[], dp.proxy.udpSockets.used]]);
    x.family('tsvs_proxy_udp_sockets_limit', 'gauge', 'Most upstream sockets UDP sessions may hold (dataplane.proxy.maxUdpSockets).', [[[], dp.proxy.udpSockets.limit]]);
  }

  const svcLabels = (s: VirtualService): Labels => [['service', formatServiceId(s.key)]];
  const rsLabels = (s: VirtualService, d: Destination): Labels => [['service', formatServiceId(s.key)], ['realserver', formatRealServerId(d)]];
  const counters: ReadonlyArray<readonly ['conns' | 'inPkts' | 'outPkts' | 'inBytes' | 'outBytes', string, string]> = [
    ['conns', 'connections_total', 'Connections scheduled'],
    ['inPkts', 'incoming_packets_total', 'Incoming packets'],
    ['outPkts', 'outgoing_packets_total', 'Outgoing packets'],
    ['inBytes', 'incoming_bytes_total', 'Incoming bytes'],
    ['outBytes', 'outgoing_bytes_total', 'Outgoing bytes'],
  ];
  const svcSnaps = services.map((s) => [s, s.stats.snapshot(), s.stats.rates()] as const);
  for (const [field, suffix, help] of counters) {
    x.family(`tsvs_service_${suffix}`, 'counter', `${help} by a virtual service since its counters were last zeroed.`,
      svcSnaps.map(([s, snap]) => [svcLabels(s), snap[field]] as const));
  }
  for (const [field, suffix, help] of RATE_FAMILIES) {
    x.family(`tsvs_service_rate_${suffix}`, 'gauge', `Estimated ${help} of a virtual service (2 s estimator, as ipvsadm --rate).`,
      svcSnaps.map(([s, , r]) => [svcLabels(s), r[field]] as const));
  }
  const dests = services.flatMap((s) => s.destinations.map((d) => [s, d, d.stats.rates()] as const));
  for (const [field, suffix, help] of RATE_FAMILIES) {
    x.family(`tsvs_realserver_rate_${suffix}`, 'gauge', `Estimated ${help} of a real server (2 s estimator, as ipvsadm --rate).`,
      dests.map(([s, d, r]) => [rsLabels(s, d), r[field]] as const));
  }
  // One series per real server even if a health source reported one twice (the last one wins).
  const up = new Map<string, readonly [Labels, number]>();
  for (const h of api.health()) {
    const labels: Labels = [['service', formatServiceId(h.service.key)], ['realserver', formatRealServerId(h)]];
    up.set(`${labels[0][1]}|${labels[1][1]}`, [labels, h.alive ? 1 : 0]);
  }
  x.family('tsvs_realserver_up', 'gauge', 'Whether the health checks of a real server pass (1) or not (0).', [...up.values()]);

  const cc = api.controlCounters?.() ?? control ?? { healthTransitions: 0, configReloads: { success: 0, failure: 0 } };
  x.family('tsvs_health_transitions_total', 'counter', 'Real server health transitions (up to down or down to up).', [[[], cc.healthTransitions]]);
  x.family('tsvs_config_reloads_total', 'counter', 'Configuration reloads, by result.', [
    [[['result', 'success']], cc.configReloads.success],
    [[['result', 'failure']], cc.configReloads.failure],
  ]);
  return x.text();
}

/** connectFailures -> connect_failures (Prometheus label values in the exporters' style). */
function snakeCase(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
