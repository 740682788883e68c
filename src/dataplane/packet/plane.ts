// The packet plane as the control plane sees it (docs/adr/0003-packet-plane.md): start forwarding
// workers on some interfaces with an engine module, keep the kernel out with nft, forward table
// operations and network facts to every engine replica, and read merged counters and connections.
// stop() removes everything start() installed.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { TableOp } from '../../control/director-api.js';
import type { IpAddress } from '../../core/net/addr.js';
import { DEFAULT_RING, type RingGeometry, captureModeFor } from './af-packet.js';
import { type Libc, openLibc } from './ffi.js';
import { DEFAULT_RESOLVE_LIMITS, type ResolveLimits } from './neighbour.js';
import { type NetFacts, factsDigest, gatherNetFacts } from './net-context.js';
import { DEFAULT_NFT_TABLE, EXCLUSION_HOOK, type ExclusionSpec, NftExclusion } from './nft.js';
import { type PlaneSnapshot, merge } from './plane-snapshot.js';
import { ServiceModel } from './service-model.js';
import {
  CTL_MAIL, CTL_SLOTS, CTL_STOP, type ConnPage, type FromWorker, type OffloadOptions, type OpsResult,
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
  /** Called on a worker failure after start (the plane keeps the other workers). */
  readonly onWorkerError?: (index: number, message: string) => void;
  /** The kernel fast path (XDP or tcx) for established direct-routing flows (ADR 0005); one worker only. */
  readonly offload?: OffloadOptions;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  left: number;
  results: unknown[];
}

interface WorkerHandle {
  readonly index: number;
  readonly worker: Worker;
  readonly port: MessagePort;
  eventFd: number;
  last?: WorkerSnapshot;
  stopped?: WorkerSnapshot;
  alive: boolean;
}

/** The AF_PACKET data plane. */
export class PacketPlane {
  private libc?: Libc;
  private control?: SharedArrayBuffer;
  private ctl?: Int32Array;
  private workers: WorkerHandle[] = [];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private readonly model = new ServiceModel();
  private nft?: NftExclusion;
  private opts?: PacketPlaneOptions;
  private facts?: NetFacts;
  private digest = '';
  private factsTimer?: NodeJS.Timeout;
  private refreshing = false;
  private ops: TableOp[] = [];
  private readonly wakeBuf = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

  /** Whether forwarding worker `index` still runs (a worker that failed after start does not). */
  workerAlive(index: number): boolean {
    return this.workers.find((w) => w.index === index)?.alive ?? false;
  }

  /** Veth peers matter to the tc fast path only (ADR 0005, "Delivery to a veth peer"). */
  private factsOptions(): { vethPeers: boolean } {
    return { vethPeers: this.opts?.offload?.mode === 'tc' };
  }

  /** True between a successful start() and stop(). */
  get running(): boolean {
    return this.workers.length > 0;
  }

  /** Opens the rings, installs the nft rules and starts the workers; rejects (having cleaned up) on any failure. */
  async start(opts: PacketPlaneOptions): Promise<void> {
    if (this.running) throw new Error('Cannot start the packet plane: it is already running');
    const count = opts.workers ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`Cannot start the packet plane as workers must be 1..64: current value is ${count}`);
    if (opts.interfaces.length === 0) throw new Error('Cannot start the packet plane without interfaces');
    this.opts = opts;
    this.ops = [...(opts.ops ?? [])];
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
      this.control = new SharedArrayBuffer(CTL_SLOTS * 4);
      this.ctl = new Int32Array(this.control);
      const engineModule = opts.engineModule instanceof URL ? opts.engineModule.href
        : opts.engineModule.startsWith('file:') ? opts.engineModule : pathToFileURL(opts.engineModule).href;
      const groupId = opts.fanoutGroupId ?? (process.pid & 0xffff);
      // One at a time: a worker joins its fanout groups when it is ready, and the kernel numbers
      // a group's members in join order, so worker i is member i of every group (fanout.ts).
      for (let index = 0; index < count; index++) {
        const { port1, port2 } = new MessageChannel();
        const init: WorkerInit = {
          index, count, engineModule, engineOptions: opts.engineOptions, interfaces, announceIfIndexes: announce,
          facts: this.facts, ops: this.ops, sysctls: opts.sysctls ?? {}, extraVips: opts.extraVips ?? [],
          ring: opts.ring ?? DEFAULT_RING, batch: opts.batch ?? 64,
          fanout: count > 1 ? { groupId, fullnatAddresses: opts.fullnatAddresses ?? [], fullnatPorts: opts.fullnatPorts } : undefined,
          snapshotEveryMs: opts.snapshotEveryMs ?? 1000, neighbourLimits: opts.neighbourLimits ?? DEFAULT_RESOLVE_LIMITS,
          announceRounds: opts.announceRounds ?? 2, control: this.control, port: port2, offload: opts.offload,
        };
        const worker = new Worker(fileURLToPath(new URL('./worker.js', import.meta.url)), {
          workerData: init, transferList: [port2],
        });
        const h: WorkerHandle = { index, worker, port: port1, eventFd: -1, alive: true };
        this.workers.push(h);
        await new Promise<void>((resolve, reject) => {
          port1.on('message', (m: FromWorker) => {
            if (m.type === 'ready') {
              h.eventFd = m.eventFd;
              resolve();
            } else if (m.type === 'fatal') {
              h.alive = false;
              reject(new Error(`Packet plane worker ${m.index} failed: ${m.message}`));
              opts.onWorkerError?.(m.index, m.message);
            }
            this.onMessage(h, m);
          });
          worker.on('error', (e) => {
            h.alive = false;
            reject(e);
            opts.onWorkerError?.(index, e.message);
          });
          worker.on('exit', () => {
            h.alive = false;
            reject(new Error(`Packet plane worker ${index} exited before it was ready`));
            this.failPending(`worker ${index} exited`);
          });
        });
      }
    } catch (e) {
      await this.stop().catch(() => undefined);
      throw e;
    }
    const every = opts.factsRefreshMs ?? 2000;
    this.factsTimer = setInterval(() => void this.refreshFacts().catch(() => undefined), every);
    this.factsTimer.unref();
  }

  private onMessage(h: WorkerHandle, m: FromWorker): void {
    switch (m.type) {
      case 'snapshot':
        h.last = m.snapshot;
        this.settle(m.seq, m.snapshot);
        return;
      case 'stopped':
        h.last = m.snapshot;
        h.stopped = m.snapshot;
        return;
      case 'ops-result':
        this.settle(m.seq, m.result);
        return;
      case 'connections':
        this.settle(m.seq, m.page);
        return;
      case 'neighbour':
        for (const w of this.workers) {
          if (w.alive && w !== h) this.send(w, { type: 'neighbour', addr: m.addr, ifIndex: m.ifIndex, mac: m.mac });
        }
        return;
      default:
    }
  }

  private settle(seq: number, v: unknown): void {
    const p = this.pending.get(seq);
    if (!p) return;
    p.results.push(v);
    if (--p.left === 0) {
      this.pending.delete(seq);
      p.resolve(p.results);
    }
  }

  private failPending(why: string): void {
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(new Error(`Packet plane request failed: ${why}`));
    }
  }

  private send(h: WorkerHandle, m: ToWorker): void {
    h.port.postMessage(m);
    Atomics.add(this.ctl!, CTL_MAIL, 1);
    if (h.eventFd >= 0) this.libc!.write(h.eventFd, this.wakeBuf, 8);
  }

  /** Sends a request to every live worker and waits for all answers (5 s at most). */
  private request<T>(make: (seq: number) => ToWorker): Promise<T[]> {
    const live = this.workers.filter((w) => w.alive);
    if (live.length === 0) return Promise.reject(new Error('Cannot reach the packet plane: no forwarding worker is running'));
    const seq = ++this.seq;
    return new Promise<T[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error('Packet plane request timed out after 5 s'));
      }, 5000);
      this.pending.set(seq, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T[]); },
        reject: (e) => { clearTimeout(timer); reject(e); },
        left: live.length, results: [],
      });
      for (const w of live) this.send(w, make(seq));
    });
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
    const results = await this.request<OpsResult>((seq) => ({ type: 'ops', seq, ops }));
    const bad = results.find((r) => !r.ok);
    if (bad) return bad;
    this.ops.push(...ops);
    this.model.apply(ops);
    await this.nft?.apply(this.exclusion());
    return { ok: true };
  }

  /** Sends new sysctl values to every replica. */
  setSysctls(values: Readonly<Record<string, number>>): void {
    for (const w of this.workers) if (w.alive) this.send(w, { type: 'sysctls', values });
  }

  /** Sends gratuitous ARP / unsolicited NA for every VIP now (e.g. on takeover). */
  announce(): void {
    for (const w of this.workers) if (w.alive) this.send(w, { type: 'announce' });
  }

  /** Re-reads the network facts now and pushes them (and the nft local addresses) when they changed. */
  async refreshFacts(): Promise<boolean> {
    if (this.refreshing || !this.running) return false;
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
    return merge(this.workers.map((w) => w.last).filter((s): s is WorkerSnapshot => s !== undefined));
  }

  /** Fresh counters: asks every worker now. */
  async requestSnapshot(): Promise<PlaneSnapshot> {
    return merge(await this.request<WorkerSnapshot>((seq) => ({ type: 'snapshot', seq })));
  }

  /** A page of connections over all workers (worker order, then each engine's table order). */
  async connections(offset: number, limit: number): Promise<ConnPage> {
    const pages = await this.request<ConnPage>((seq) => ({ type: 'connections', seq, offset: 0, limit: offset + limit }));
    const entries = pages.flatMap((p) => p.entries).slice(offset, offset + limit);
    return { total: pages.reduce((a, p) => a + p.total, 0), entries };
  }

  /** Stops the workers (within ~100 ms each, 2 s at most), removes the nft table, releases everything. */
  async stop(): Promise<PlaneSnapshot> {
    if (this.factsTimer) clearInterval(this.factsTimer);
    this.factsTimer = undefined;
    if (this.ctl) Atomics.store(this.ctl, CTL_STOP, 1);
    const exits = this.workers.map((w) => new Promise<void>((resolve) => {
      if (w.eventFd >= 0) this.libc?.write(w.eventFd, this.wakeBuf, 8);
      const t = setTimeout(() => void w.worker.terminate().then(() => resolve()), 2000);
      w.worker.once('exit', () => { clearTimeout(t); resolve(); });
      if (w.worker.threadId < 0) resolve();
    }));
    await Promise.all(exits);
    const final = merge(this.workers.map((w) => w.stopped ?? w.last).filter((s): s is WorkerSnapshot => s !== undefined));
    for (const w of this.workers) w.port.close();
    this.workers = [];
    this.failPending('the plane stopped');
    if (this.nft) await this.nft.remove();
    this.nft = undefined;
    return final;
  }
}
