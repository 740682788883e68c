// The main thread <-> forwarding worker protocol (docs/adr/0003-packet-plane.md). The engine runs
// in the worker(s); the main thread runs the control plane and sends it plain data: TableOps (the
// Director's, IpAddress = {family, bytes: Uint8Array} clones as is), network facts and sysctls. The
// worker answers with snapshots (every second and on request) and connection pages.
//
// Delivery: the worker's loop never yields to its event loop, so it reads its MessagePort
// synchronously (receiveMessageOnPort) whenever the `mail` counter in the shared control block
// moved; the main thread bumps the counter after posting and writes the worker's eventfd so a
// worker sleeping in poll() wakes at once. Stop is a flag in the same block.
import type { MessagePort } from 'node:worker_threads';
import type { ConnView, TableOp } from '../../control/director-api.js';
import type { Clock } from '../../core/clock.js';
import type { FrameEngine, NetContext } from '../../core/engine-contract.js';
import type { IpAddress } from '../../core/net/addr.js';
import type { RandomSource } from '../../core/random.js';
import type { ServiceKey } from '../../core/service/types.js';
import type { StatsSnapshot } from '../../core/stats/counters.js';
import type { RingGeometry } from './af-packet.js';
import type { ResolveLimits } from './neighbour.js';
import type { NetFacts } from './net-context.js';
import type { FastPathMode } from './xdp/fast-path.js';

// ---------------------------------------------------------------- the engine as the worker hosts it

/** What an engine module's `createEngine` receives in the worker. */
export interface EngineInit {
  /** Interfaces, routes and neighbours (Linux facts + the worker's neighbour cache). */
  readonly net: NetContext;
  /** Monotonic milliseconds (performance.now in the worker, read once per ring block and loop turn, not per packet). */
  readonly clock: Clock;
  /** Seeded from crypto.getRandomValues, different per worker. */
  readonly random: RandomSource;
  /** The service table so far, as operations to apply in order. */
  readonly ops: readonly TableOp[];
  /** Connection timeouts and IPVS sysctls by name (e.g. `expire_nodest_conn`), as the control plane has them. */
  readonly sysctls: Readonly<Record<string, number>>;
  /** Which replica this is: `index` of `count` forwarding workers (PACKET_FANOUT group members). */
  readonly worker: { readonly index: number; readonly count: number };
  /** Opaque options given to PacketPlane.start (structured-clone data). */
  readonly options: unknown;
}

/** Result of applying operations in a worker (all or nothing, like the Director's apply). */
export interface OpsResult {
  readonly ok: boolean;
  readonly error?: string;
}

/** One destination's counters. */
export interface DestSnapshot {
  readonly addr: IpAddress;
  readonly port: number;
  readonly stats: StatsSnapshot;
  readonly activeConns: number;
  readonly inactConns: number;
  readonly persistConns: number;
}

/** One service's counters. */
export interface ServiceSnapshot {
  readonly key: ServiceKey;
  readonly stats: StatsSnapshot;
  readonly dests: readonly DestSnapshot[];
}

/** An engine replica's counters. */
export interface EngineSnapshot {
  readonly services: readonly ServiceSnapshot[];
  readonly total: StatsSnapshot;
  /** Drops by reason (the engine's stable names). */
  readonly drops: Readonly<Record<string, number>>;
  /** Entries in the connection table (templates included). */
  readonly conns: number;
}

/** A page of connections. */
export interface ConnPage {
  readonly total: number;
  readonly entries: readonly ConnView[];
}

/** The engine a worker hosts: the frame contract plus the control calls the protocol forwards. */
export interface PacketEngine extends FrameEngine {
  applyOps(ops: readonly TableOp[]): OpsResult;
  setSysctls(values: Readonly<Record<string, number>>): void;
  /** Interfaces/routes changed (nextHop results may differ). */
  netChanged(): void;
  snapshot(): EngineSnapshot;
  connections(offset: number, limit: number): ConnPage;
  /** Counts what the kernel fast path forwarded for a conn (Ipvs.offloadCredit); false: remove its entry. */
  offloadCredit(s: number, caddr: number, vaddr: number, cport: number, vport: number, proto: number, packets: number, bytes: number): boolean;
}

/** What the module named by `engineModule` must export. */
export interface EngineModule {
  createEngine(init: EngineInit): PacketEngine | Promise<PacketEngine>;
}

// ---------------------------------------------------------------- worker start data

/** One interface the worker captures on. */
export interface CaptureInterface {
  readonly name: string;
  readonly ifIndex: number;
}

/** How a worker joins its fanout groups (one per ring: groupId + the ring's index). */
export interface WorkerFanout {
  readonly groupId: number;
  /** Full-NAT local addresses: replies to them are steered by destination port (FullNatPool's share). */
  readonly fullnatAddresses: readonly IpAddress[];
  /** Their port range (tells replies from clients' packets at an address that is also a VIP). */
  readonly fullnatPorts?: { readonly min: number; readonly max: number };
}

/** workerData of a forwarding worker. */
export interface WorkerInit {
  readonly index: number;
  readonly count: number;
  /** URL (file:) of the engine module. */
  readonly engineModule: string;
  readonly engineOptions: unknown;
  readonly interfaces: readonly CaptureInterface[];
  /** Interfaces on which VIPs are answered and announced. */
  readonly announceIfIndexes: readonly number[];
  readonly facts: NetFacts;
  readonly ops: readonly TableOp[];
  readonly sysctls: Readonly<Record<string, number>>;
  /** VIPs to answer ARP/NDP for besides the services' (e.g. fwmark services' addresses). */
  readonly extraVips: readonly IpAddress[];
  readonly ring: RingGeometry;
  /** Frames per sendmmsg. */
  readonly batch: number;
  /** Several workers: the fanout group id of the first ring, and what the steering program needs besides the VIPs (fanout.ts). */
  readonly fanout?: WorkerFanout;
  readonly snapshotEveryMs: number;
  readonly neighbourLimits: ResolveLimits;
  /** Gratuitous ARP/NA rounds on start and on new VIPs, one second apart. */
  readonly announceRounds: number;
  /** Attach the kernel fast path (ADR 0005) to the capture interfaces, in this mode (XDP generic or native, or tcx). */
  readonly offload?: OffloadOptions;
  /** The shared control block (see CTL_*). */
  readonly control: SharedArrayBuffer;
  /** The worker's end of its message channel (transferred). */
  readonly port: MessagePort;
}

/** Int32 slots of the control block. */
export const CTL_STOP = 0;
export const CTL_MAIL = 1;
/** Int32 slots in the control block. */
export const CTL_SLOTS = 4;

// ---------------------------------------------------------------- messages

/** main -> worker. `seq` pairs a request with its answer. */
export type ToWorker =
  | { readonly type: 'ops'; readonly seq: number; readonly ops: readonly TableOp[] }
  | { readonly type: 'facts'; readonly facts: NetFacts }
  | { readonly type: 'sysctls'; readonly values: Readonly<Record<string, number>> }
  | { readonly type: 'extra-vips'; readonly vips: readonly IpAddress[] }
  | { readonly type: 'announce' }
  /** A neighbour another worker learned (with several workers, replies reach any of them). */
  | { readonly type: 'neighbour'; readonly addr: IpAddress; readonly ifIndex: number; readonly mac: Uint8Array }
  | { readonly type: 'snapshot'; readonly seq: number }
  | { readonly type: 'connections'; readonly seq: number; readonly offset: number; readonly limit: number };

/** I/O counters of one worker (monotonic since its start). */
export interface IoCounters {
  rxFrames: number;
  rxBytes: number;
  /** Frames the engine said to forward / reply with, ARP/NDP answers included. */
  forwarded: number;
  replies: number;
  local: number;
  engineDrops: number;
  engineErrors: number;
  txFrames: number;
  txErrors: number;
  txCalls: number;
  lastTxErrno: number;
  /** PACKET_STATISTICS: frames the ring had no room for, and ring freezes. */
  ringDrops: number;
  ringFreezes: number;
  polls: number;
  csumCompleted: number;
  gsoFrames: number;
  gsoSegments: number;
  /** Frames too large to handle (not TCP GSO, or no room). */
  oversize: number;
  arpReplies: number;
  naReplies: number;
  neighLearned: number;
  neighRequests: number;
  neighLimited: number;
  /** Frames held while their next hop was resolved (held-frames.ts), then sent, or dropped (full, or no answer in time). */
  neighHeld: number;
  neighReleased: number;
  neighHeldDropped: number;
  announcements: number;
  /** The kernel fast path (ADR 0005): flows installed / removed / refused (table full, other), packets it forwarded, flows in it now. */
  offloadInstalled: number;
  /** Of the installed flows, those delivered straight into a veth peer. */
  offloadInstalledToPeer: number;
  offloadRemoved: number;
  offloadFull: number;
  offloadFailed: number;
  offloadPackets: number;
  offloadActive: number;
}

/** The kernel fast path for established direct-routing flows (ADR 0005): its hook, and flows the kernel map holds at most. */
export interface OffloadOptions {
  readonly mode: FastPathMode;
  readonly maxFlows: number;
}

/** A fresh zeroed IoCounters. */
export function newIoCounters(): IoCounters {
  return {
    rxFrames: 0, rxBytes: 0, forwarded: 0, replies: 0, local: 0, engineDrops: 0, engineErrors: 0, txFrames: 0, txErrors: 0,
    txCalls: 0, lastTxErrno: 0, ringDrops: 0, ringFreezes: 0, polls: 0, csumCompleted: 0, gsoFrames: 0, gsoSegments: 0,
    oversize: 0, arpReplies: 0, naReplies: 0, neighLearned: 0, neighRequests: 0, neighLimited: 0,
    neighHeld: 0, neighReleased: 0, neighHeldDropped: 0, announcements: 0,
    offloadInstalled: 0, offloadInstalledToPeer: 0, offloadRemoved: 0, offloadFull: 0, offloadFailed: 0, offloadPackets: 0, offloadActive: 0,
  };
}

/** One worker's report. */
export interface WorkerSnapshot {
  readonly index: number;
  /** Worker clock (ms) when taken. */
  readonly atMs: number;
  readonly engine: EngineSnapshot;
  readonly io: IoCounters;
  readonly neighbours: number;
}

/** worker -> main. */
export type FromWorker =
  | { readonly type: 'ready'; readonly index: number; readonly eventFd: number }
  | { readonly type: 'ops-result'; readonly seq: number; readonly result: OpsResult }
  | { readonly type: 'snapshot'; readonly seq: number; readonly snapshot: WorkerSnapshot }
  | { readonly type: 'connections'; readonly seq: number; readonly page: ConnPage }
  | { readonly type: 'neighbour'; readonly index: number; readonly addr: IpAddress; readonly ifIndex: number; readonly mac: Uint8Array }
  | { readonly type: 'fatal'; readonly index: number; readonly message: string }
  | { readonly type: 'stopped'; readonly index: number; readonly snapshot: WorkerSnapshot };
