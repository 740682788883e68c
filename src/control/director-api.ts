// The control plane's view of one director: what the REST API, metrics, tsvsadm's control socket
// and the config reloader read and call. Every change goes through apply(): desired state ->
// diff against the live tables -> validate the whole change -> apply it, or reject it whole.
import type { IpAddress } from '../core/net/addr.js';
import type { Destination } from '../core/service/destination.js';
import type { ServiceTable } from '../core/service/service-table.js';
import type { DestConfig, ServiceConfig, ServiceKey } from '../core/service/types.js';
import type { VirtualService } from '../core/service/virtual-service.js';

/** One table operation, as ipvsadm commands express them. */
export type TableOp =
  | { readonly op: 'add-service'; readonly service: ServiceConfig }
  | { readonly op: 'edit-service'; readonly service: ServiceConfig }
  | { readonly op: 'delete-service'; readonly key: ServiceKey }
  | { readonly op: 'add-dest'; readonly key: ServiceKey; readonly dest: DestConfig }
  | { readonly op: 'edit-dest'; readonly key: ServiceKey; readonly dest: DestConfig }
  | { readonly op: 'delete-dest'; readonly key: ServiceKey; readonly addr: IpAddress; readonly port: number }
  | { readonly op: 'flush' }
  | { readonly op: 'zero'; readonly key?: ServiceKey }
  | { readonly op: 'set-timeouts'; readonly tcp: number; readonly tcpfin: number; readonly udp: number };

/** A full desired state: every service with its destinations (what a config file describes). */
export interface DesiredService {
  readonly service: ServiceConfig;
  readonly dests: readonly DestConfig[];
}

/** The outcome of apply(): the operations that were (or, in a dry run, would be) applied. */
export interface ApplyResult {
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly ops: readonly TableOp[];
  /** Present when ok is false: what was wrong, naming the operation. Nothing was applied. */
  readonly error?: { readonly errno?: string; readonly message: string; readonly opIndex?: number };
}

/** An event worth telling operators about (transitions only; never per packet). */
export interface DirectorEvent {
  readonly time: string;
  readonly kind: 'applied' | 'rejected' | 'health' | 'reload' | 'dataplane' | 'quorum';
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

/** Health of one real server as the checkers see it. */
export interface RealServerHealth {
  readonly service: VirtualService;
  readonly dest: Destination | undefined;
  readonly addr: IpAddress;
  readonly port: number;
  readonly alive: boolean;
  readonly checkers: ReadonlyArray<{ readonly name: string; readonly up: boolean; readonly lastDetail: string }>;
}

/** One connection entry as listings show it (tsvsadm -c, REST, /proc/net/ip_vs_conn). */
export interface ConnView {
  readonly protocol: string;
  readonly client: { readonly addr: IpAddress; readonly port: number };
  readonly virtual: { readonly addr: IpAddress; readonly port: number };
  readonly dest: { readonly addr: IpAddress; readonly port: number };
  readonly state: string;
  readonly expiresS: number;
  readonly isTemplate: boolean;
}

export interface DirectorApi {
  readonly table: ServiceTable;
  /** Applies table operations atomically (all or nothing). */
  applyOps(ops: readonly TableOp[], opts?: { dryRun?: boolean; source?: string }): ApplyResult;
  /** Makes the live table equal to `desired` (diff, validate, apply); unchanged entries are untouched. */
  applyDesired(desired: readonly DesiredService[], opts?: { dryRun?: boolean; source?: string }): ApplyResult;
  /** Connections, paged, in table order. */
  connections(offset: number, limit: number): { total: number; entries: ConnView[] };
  /** Drop counters by reason, and the connection table size. */
  dataplaneCounters(): DataplaneCounters;
  health(): RealServerHealth[];
  timeouts(): { tcp: number; tcpfin: number; udp: number };
  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: (e: DirectorEvent) => void): () => void;
}

/** What the data plane counts besides the table's stats. */
export interface DataplaneCounters {
  readonly drops: Record<string, number>;
  readonly conns: number;
  readonly connsMax: number;
  /** The packet plane's XDP fast path, when on (ADR 0005): flows in it, packets it forwarded. */
  readonly offload?: { readonly flows: number; readonly packets: number; readonly installed: number; readonly installedToPeer: number };
  /** The packet plane's forwarding workers: what each received, sent and lost at its rings (fanout balance). */
  readonly packetWorkers?: readonly PacketWorkerCounters[];
  /** Frames held while a next hop was resolved, then sent, or dropped (packet plane, held-frames.ts). */
  readonly packetHeldFrames?: { readonly held: number; readonly released: number; readonly dropped: number };
  /** The proxy plane's own event counts (accepts, connect failures, retries, UDP evictions...) and its UDP sockets. */
  readonly proxy?: ProxyCounters;
}

/** One packet-plane forwarding worker's frame counts. */
export interface PacketWorkerCounters {
  readonly index: number;
  /** False once the worker failed (its share of the clients goes unserved, or moves: ADR 0003). */
  readonly up: boolean;
  readonly rxFrames: number;
  readonly txFrames: number;
  /** Frames its receive rings had no room for (PACKET_STATISTICS). */
  readonly ringDrops: number;
}

/** The proxy plane's socket-level event counts (camelCase names), beside the table's stats. */
export interface ProxyCounters {
  readonly tcp: Readonly<Record<string, number>>;
  readonly udp: Readonly<Record<string, number>>;
  readonly udpSockets: { readonly used: number; readonly limit: number };
}
