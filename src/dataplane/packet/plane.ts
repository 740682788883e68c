// The packet plane as the control plane sees it (docs/adr/0003-packet-plane.md): start forwarding
// workers on some interfaces with an engine module, keep the kernel out with nft, forward table
// operations and network facts to every engine replica, and read merged counters and connections.
// stop() removes everything start() installed.
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import type { TableOp } from '../../control/director-api.js';
import type { IpAddress } from '../../core/net/addr.js';
import { DEFAULT_RING, type RingGeometry, captureModeFor } from './af-packet.js';
import { type Libc, openLibc } from './ffi.js';
import { DEFAULT_RESOLVE_LIMITS, type ResolveLimits } from './neighbour.js';
import { type NetFacts, factsDigest, gatherNetFacts } from './net-context.js';
import { DEFAULT_NFT_TABLE, EXCLUSION_HOOK, type ExclusionSpec, NftExclusion } from './nft.js';
import { type PlaneSnapshot, carryOver, mergeWithCarried } from './plane-snapshot.js';
import { PendingRequests, type WorkerEvents, type WorkerHandle, startWorker, stopWorkers, wakeWorker } from './plane-workers.js';
import { ServiceModel } from './service-model.js';
import {
  CTL_MAIL, CTL_SLOTS, type ConnPage, type FromWorker, type OffloadOptions, type OpsResult,
  type ToWorker, type WorkerInit, type WorkerSnapshot,
} from './worker-protocol.js';

export type { PlaneSnapshot } from './plane-snapshot.js';

/** How to start the plane. */
export interface PacketPlaneOptions {
  /** Interfaces to capture on (names, in the caller's network namespace). */
  readonly interfaces: readonly string[];
  /** Path or file: URL of a module exporting `createEngine(init: EngineInit)`. */
  readonly engineModule: string | URL;
  /** Passed to createEngine as `options` (structured-clone data). */
  readonly engineOptions?: unknown;
  /** The service table to start with. */
  readonly ops?: readonly TableOp[];
  readonly sysctls?: Readonly<Record<string, number>>;
  /** Forwarding workers (PACKET_FANOUT by client address when > 1: fanout.ts). Default 1. */
  readonly workers?: number;
  /** Interfaces on which VIPs are answered and announced (default: all captured). */
  readonly announceInterfaces?: readonly string[];
  /** Addresses answered for besides the services' VIPs (fwmark services). */
  readonly extraVips?: readonly IpAddress[];
  /** nft table for the kernel exclusion rules; false = install none (the kernel then sees VIP traffic too). */
  readonly nftTable?: string | false;
  /** The full-NAT local addresses (several workers steer replies to them by port, fanout.ts). */
  readonly fullnatAddresses?: readonly IpAddress[];
  /** Local ports the full-NAT engine allocates (narrows the full-NAT reply rule). */
  readonly fullnatPorts?: { readonly min: number; readonly max: number };
  readonly ring?: RingGeometry;
  readonly batch?: number;
  readonly snapshotEveryMs?: number;
  /** How often the main thread re-reads `ip -j addr/route/neigh` (ms). */
  readonly factsRefreshMs?: number;
  readonly neighbourLimits?: ResolveLimits;
  readonly announceRounds?: number;
  /** PACKET_FANOUT group id (default: derived from the pid). */
  readonly fanoutGroupId?: number;
  /**
   * Called on a worker failure after start; the plane then restarts every worker (at most
   * RESTARTS_PER_MINUTE times a minute) and calls `onRestart` with the outcome.
   */
  readonly onWorkerError?: (index: number, message: string) => void;
  readonly onRestart?: (outcome: { readonly ok: boolean; readonly message: string }) => void;
  /** The kernel fast path (XDP or tcx) for established direct-routing flows (ADR 0005); one worker only. */
  readonly offload?: OffloadOptions;
}

/** Restarts of the workers after failures, in any minute, before the plane gives up (ADR 0003). */
export const RESTARTS_PER_MINUTE = 5;

/** What the workers are started from, kept for a restart. */
interface SpawnSpec {
  readonly count: number;
  readonly engineModule: string;
  readonly interfaces: WorkerInit['interfaces'];
  readonly announce: readonly number[];
  readonly groupId: number;
}

/** The AF_PACKET data plane. */
export class PacketPlane {
  private libc?: Libc;
  private ctl?: Int32Array;
  private workers: WorkerHandle[] = [];
  private readonly pending = new PendingRequests();
  private readonly model = new ServiceModel();
  private nft?: NftExclusion;
  private opts?: PacketPlaneOptions;
  private facts?: NetFacts;
  private digest = '';
  private factsTimer?: NodeJS.Timeout;
  private refreshing = false;
  private ops: TableOp[] = [];
  private sysctls: Readonly<Record<string, number>> = {};
  private spec?: SpawnSpec;
  private stopping = false;
  /** The restart under way, which stop() waits for. */
  private restarting?: Promise<void>;
  /** Restarts so far (each one's workers join fresh fanout groups), and their times (ms). */
  private generation = 0;
  private restartTimes: number[] = [];
  /** What the sets stopped by restarts left to the counters (plane-snapshot.ts carryOver). */
  private carried?: WorkerSnapshot;
  private readonly events: WorkerEvents = {
    message: (h, m) => this.onMessage(h, m),
    failed: (h, message) => this.workerFailed(h, message),
  };

  /** Whether forwarding worker `index` still runs (a worker that failed after start does not). */
  workerAlive(index: number): boolean {
    return this.workers.find((w) => w.index === index)?.alive ?? false;
  }

  /** Veth peers matter to the tc fast path only (ADR 0005, "Delivery to a veth peer"). */
  private factsOptions(): { vethPeers: boolean } {
    return { vethPeers: this.opts?.offload?.mode === 'tc' };
  }

  /** True between a successful start() and stop() (a restart of the workers included). */
  get running(): boolean {
    return this.spec !== undefined;
  }

  /** Opens the rings, installs the nft rules and starts the workers; rejects (having cleaned up) on any failure. */
  async start(opts: PacketPlaneOptions): Promise<void> {
    if (this.running) throw new Error('Cannot start the packet plane: it is already running');
    const count = opts.workers ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`Cannot start the packet plane as workers must be 1..64: current value is ${count}`);
    if (opts.interfaces.length === 0) throw new Error('Cannot start the packet plane without interfaces');
    this.opts = opts;
    this.stopping = false;
    this.restartTimes = [];
    this.carried = undefined;
    this.ops = [...(opts.ops ?? [])];
    this.sysctls = opts.sysctls ?? {};
    this.model.apply(this.ops);
    if (count > 1 && opts.offload) {
      throw new Error(`Cannot start ${count} forwarding workers with the kernel fast path: its flow map and program belong to one worker (an interface takes one XDP program); use 1 worker`);
    }
    this.libc = openLibc();
    this.facts = await gatherNetFacts(this.factsOptions());
    this.digest = factsDigest(this.facts);
    const byName = new Map(this.facts.interfaces.map((i) => [i.name, i.ifIndex]));
    const idx = (n: string) => {
      const i = byName.get(n);
      if (i === undefined) throw new Error(`Cannot start the packet plane on interface '${n}': no such interface`);
      return i;
    };
    const interfaces = opts.interfaces.map((name) => ({ name, ifIndex: idx(name) }));
    const announce = (opts.announceInterfaces ?? opts.interfaces).map(idx);
    // The workers' rings follow the same captureModeFor(offload mode) (forwarder.ts).
    const capture = captureModeFor(opts.offload?.mode);
    if (capture === 'bound') {
      // A port's frames go to its bridge or bond before any bound socket sees them (a tap sees them first).
      for (const name of opts.interfaces) {
        const master = this.facts.interfaces.find((i) => i.name === name)?.master;
        if (master) throw new Error(`Cannot capture '${name}' with the tc fast path: it is a port of '${master}', which takes its frames first; capture '${master}' instead`);
      }
    }
    const hook = EXCLUSION_HOOK[capture];
    if (opts.nftTable !== false) this.nft = new NftExclusion(opts.nftTable ?? DEFAULT_NFT_TABLE, hook);
    try {
      await this.nft?.apply(this.exclusion());
      const engineModule = opts.engineModule instanceof URL ? opts.engineModule.href
        : opts.engineModule.startsWith('file:') ? opts.engineModule : pathToFileURL(opts.engineModule).href;
      const spec: SpawnSpec = { count, engineModule, interfaces, announce, groupId: opts.fanoutGroupId ?? (process.pid & 0xffff) };
      this.workers = await this.spawnWorkers(spec);
      this.spec = spec;
    } catch (e) {
      await this.stop().catch(() => undefined);
      throw e;
    }
    const every = opts.factsRefreshMs ?? 2000;
    this.factsTimer = setInterval(() => void this.refreshFacts().catch(() => undefined), every);
    this.factsTimer.unref();
  }

  /**
   * Starts a set of workers one at a time: a worker joins its fanout groups when it is ready, and
   * the kernel numbers a group's members in join order, so worker i is member i of every group
   * (fanout.ts). After a restart the groups are new ones (the group id moves on), so nothing a
   * dead worker left behind can share them. The set is the plane's only once all are ready; if
   * one fails first, the others are stopped and this rejects.
   */
  private async spawnWorkers(spec: SpawnSpec): Promise<WorkerHandle[]> {
    const opts = this.opts!;
    const control = new SharedArrayBuffer(CTL_SLOTS * 4);
    const ctl = new Int32Array(control);
    const { count } = spec;
    const groupId = (spec.groupId + this.generation * 64) & 0xffff;
    const started: WorkerHandle[] = [];
    try {
      for (let index = 0; index < count; index++) {
        const { port1, port2 } = new MessageChannel();
        const init: WorkerInit = {
          index, count, engineModule: spec.engineModule, engineOptions: opts.engineOptions, interfaces: spec.interfaces,
          announceIfIndexes: spec.announce, facts: this.facts!, ops: this.ops, sysctls: this.sysctls, extraVips: opts.extraVips ?? [],
          ring: opts.ring ?? DEFAULT_RING, batch: opts.batch ?? 64,
          fanout: count > 1 ? { groupId, fullnatAddresses: opts.fullnatAddresses ?? [], fullnatPorts: opts.fullnatPorts } : undefined,
          snapshotEveryMs: opts.snapshotEveryMs ?? 1000, neighbourLimits: opts.neighbourLimits ?? DEFAULT_RESOLVE_LIMITS,
          announceRounds: opts.announceRounds ?? 2, control, port: port2, offload: opts.offload,
        };
        started.push(await startWorker(init, port1, this.events));
      }
      const dead = started.find((w) => !w.alive);
      if (dead) throw new Error(`Packet plane worker ${dead.index} failed while the others started`);
    } catch (e) {
      await stopWorkers(started, ctl, this.libc).catch(() => undefined);
      throw e;
    }
    this.ctl = ctl;
    return started;
  }

  /**
   * A worker of the running set died: every worker is restarted (its connections, and the
   * steering of the others, are gone anyway). One of a set still starting is spawnWorkers' to see.
   */
  private workerFailed(h: WorkerHandle, message: string, report = true): void {
    if (!this.workers.includes(h)) return;
    if (report) this.opts?.onWorkerError?.(h.index, message);
    if (this.restarting || this.stopping) return;
    this.restarting = this.restartWorkers().then((ok) => {
      this.restarting = undefined;
      // A new worker that died between the restart's end and now was not restarted yet.
      const dead = ok ? this.workers.find((w) => !w.alive) : undefined;
      if (dead) this.workerFailed(dead, 'failed after the workers restarted', false);
    });
    // Requests the dead worker will never answer fail now; applyOps tries again after the restart.
    this.pending.failAll(`worker ${h.index} failed`);
  }

  /** Stops what is left of the workers and starts them all again; true when they run. */
  private async restartWorkers(): Promise<boolean> {
    const spec = this.spec;
    if (!spec) return false;
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < 60_000);
    if (this.restartTimes.length >= RESTARTS_PER_MINUTE) {
      this.notifyRestart(false, `${RESTARTS_PER_MINUTE} restarts in a minute: the failed workers stay down until the plane is started again`);
      return false;
    }
    this.restartTimes.push(now);
    const old = this.workers;
    this.workers = [];
    try {
      await stopWorkers(old, this.ctl, this.libc);
      // The counters go on from where the old set left them (as IPVS's never go back).
      this.carried = carryOver(this.carried, old.map((w) => w.stopped ?? w.last).filter((x): x is WorkerSnapshot => x !== undefined));
      if (this.stopping) return false;
      this.generation++;
      this.facts = await gatherNetFacts(this.factsOptions());
      const digest = factsDigest(this.facts);
      if (digest !== this.digest) await this.nft?.apply(this.exclusion());
      this.digest = digest;
      const sysctls = this.sysctls;
      this.workers = await this.spawnWorkers(spec);
      // Sysctls set while the new workers started went to none of them.
      if (this.sysctls !== sysctls) this.setSysctls(this.sysctls);
      this.notifyRestart(true, `${spec.count} forwarding worker(s) restarted; their connections were lost`);
      return true;
    } catch (e) {
      this.notifyRestart(false, `Cannot restart the forwarding workers: ${(e as Error).message}`);
      return false;
    }
  }

  private notifyRestart(ok: boolean, message: string): void {
    try {
      this.opts?.onRestart?.({ ok, message });
    } catch { /* a caller's logging must not stop the plane */ }
  }

  private onMessage(h: WorkerHandle, m: FromWorker): void {
    switch (m.type) {
      case 'snapshot':
        h.last = m.snapshot;
        this.pending.settle(m.seq, m.snapshot);
        return;
      case 'stopped':
        h.last = m.snapshot;
        h.stopped = m.snapshot;
        h.eventFd = -1; // closed by the worker right after
        return;
      case 'ops-result':
        this.pending.settle(m.seq, m.result);
        return;
      case 'connections':
        this.pending.settle(m.seq, m.page);
        return;
      case 'neighbour':
        for (const w of this.workers) {
          if (w.alive && w !== h) this.send(w, { type: 'neighbour', addr: m.addr, ifIndex: m.ifIndex, mac: m.mac });
        }
        return;
      default:
    }
  }

  private send(h: WorkerHandle, m: ToWorker): void {
    h.port.postMessage(m);
    Atomics.add(this.ctl!, CTL_MAIL, 1);
    wakeWorker(this.libc, h);
  }

  /** Sends a request to every live worker and waits for all answers (5 s at most). */
  private request<T>(make: (seq: number) => ToWorker): Promise<T[]> {
    const live = this.workers.filter((w) => w.alive);
    if (live.length === 0) return Promise.reject(new Error('Cannot reach the packet plane: no forwarding worker is running'));
    return this.pending.request<T>(live.length, (seq) => { for (const w of live) this.send(w, make(seq)); });
  }

  private exclusion(): ExclusionSpec {
    const locals: IpAddress[] = [];
    for (const i of this.facts?.interfaces ?? []) for (const a of i.addrs) locals.push(a.addr);
    const opts = this.opts!;
    return {
      devices: opts.interfaces,
      vipPorts: this.model.vipPorts(),
      vips: [...this.model.vips(), ...(opts.extraVips ?? [])],
      masqReplies: this.model.replySources('masq'),
      fullnatReplies: this.model.replySources('fullnat'),
      fullnatPorts: opts.fullnatPorts,
      localAddrs: locals,
    };
  }

  /** Applies table operations in every engine replica, then brings the nft rules in line. */
  async applyOps(ops: readonly TableOp[]): Promise<OpsResult> {
    await this.restarting;
    let results: OpsResult[];
    try {
      results = await this.request<OpsResult>((seq) => ({ type: 'ops', seq, ops }));
    } catch (e) {
      // A worker failed meanwhile: the restarted set has the table without these ops.
      if (!this.restarting) throw e;
      await this.restarting;
      results = await this.request<OpsResult>((seq) => ({ type: 'ops', seq, ops }));
    }
    const bad = results.find((r) => !r.ok);
    if (bad) return bad;
    this.ops.push(...ops);
    this.model.apply(ops);
    await this.nft?.apply(this.exclusion());
    return { ok: true };
  }

  /** Sends new sysctl values to every replica. */
  setSysctls(values: Readonly<Record<string, number>>): void {
    this.sysctls = values;
    for (const w of this.workers) if (w.alive) this.send(w, { type: 'sysctls', values });
  }

  /** Sends gratuitous ARP / unsolicited NA for every VIP now (e.g. on takeover). */
  announce(): void {
    for (const w of this.workers) if (w.alive) this.send(w, { type: 'announce' });
  }

  /** Re-reads the network facts now and pushes them (and the nft local addresses) when they changed. */
  async refreshFacts(): Promise<boolean> {
    // A restart gathers the facts itself, for the workers it starts.
    if (this.refreshing || !this.running || this.restarting) return false;
    this.refreshing = true;
    try {
      const f = await gatherNetFacts(this.factsOptions());
      const d = factsDigest(f);
      if (d === this.digest) return false;
      this.facts = f;
      this.digest = d;
      for (const w of this.workers) if (w.alive) this.send(w, { type: 'facts', facts: f });
      await this.nft?.apply(this.exclusion());
      return true;
    } finally {
      this.refreshing = false;
    }
  }

  /** The latest counters (each worker reports every snapshotEveryMs). */
  snapshot(): PlaneSnapshot {
    return mergeWithCarried(this.workers.map((w) => w.last).filter((s): s is WorkerSnapshot => s !== undefined), this.carried);
  }

  /** Fresh counters: asks every worker now. */
  async requestSnapshot(): Promise<PlaneSnapshot> {
    await this.restarting;
    return mergeWithCarried(await this.request<WorkerSnapshot>((seq) => ({ type: 'snapshot', seq })), this.carried);
  }

  /** A page of connections over all workers (worker order, then each engine's table order). */
  async connections(offset: number, limit: number): Promise<ConnPage> {
    await this.restarting;
    const pages = await this.request<ConnPage>((seq) => ({ type: 'connections', seq, offset: 0, limit: offset + limit }));
    const entries = pages.flatMap((p) => p.entries).slice(offset, offset + limit);
    return { total: pages.reduce((a, p) => a + p.total, 0), entries };
  }

  /** Stops the workers (within ~100 ms each, 2 s at most), removes the nft table, releases everything. */
  async stop(): Promise<PlaneSnapshot> {
    this.stopping = true;
    if (this.factsTimer) clearInterval(this.factsTimer);
    this.factsTimer = undefined;
    await this.restarting;
    const workers = this.workers;
    await stopWorkers(workers, this.ctl, this.libc);
    const final = mergeWithCarried(workers.map((w) => w.stopped ?? w.last).filter((s): s is WorkerSnapshot => s !== undefined), this.carried);
    this.workers = [];
    this.spec = undefined;
    this.pending.failAll('the plane stopped');
    if (this.nft) await this.nft.remove();
    this.nft = undefined;
    return final;
  }
}
