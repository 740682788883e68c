// Using every core (docs/adr/0002-proxy-workers.md). One process, the primary, owns the engine:
// the service table, the schedulers, the connection table and every counter, so scheduling,
// persistence and `tsvsadm -L -n --stats` / `-c` stay exact. It accepts, schedules, and hands
// the accepted socket with its decision to a worker process (SCM_RIGHTS over the IPC channel);
// the worker connects, pipes and reports socket events back, batched (bytes every 100 ms, state
// changes at once). With workers = 1 nothing is forked: the primary serves every socket itself.
import { type ChildProcess, fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Destination } from '../../core/service/destination.js';
import type { ServiceTable } from '../../core/service/service-table.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import type { EngineConn, ProxyEngine } from './engine.js';
import { chooseGcMode } from '../gc-mode.js';
import { ProxyPlane, type ListenerStatus, type ProxyPlaneCounters, type ProxyPlaneOptions } from './plane.js';
import { TableEngine } from './table-engine.js';
import { TcpListener } from './tcp-proxy.js';
import { type CoarseClock, TcpProxyCounters, type TcpServiceOptions } from './tcp-service.js';

const TCP_COUNTER_NAMES = Object.keys(new TcpProxyCounters()) as (keyof TcpProxyCounters)[];

const WORKER_ENV = 'TSVS_PROXY_WORKER';
const FLUSH_MS = 100;

/** Options of a pool: the plane's, plus the number of worker processes. */
export interface ProxyPoolOptions extends Omit<ProxyPlaneOptions, 'engine'> {
  readonly table: ServiceTable;
  /** Defaults to a TableEngine over `table`. */
  readonly engine?: ProxyEngine;
  /** Processes that pipe TCP connections; 1 = the primary does everything (no fork). */
  readonly workers: number;
}

/** A running proxy plane, single-process or with workers. */
export interface ProxyPool {
  readonly plane: ProxyPlane;
  /** Brings listeners in line with the table, and closes conns of removed dests (expire_nodest_conn). */
  reconcile(): Promise<ListenerStatus[]>;
  /** TCP connections being piped by worker processes. */
  remoteConns(): number;
  /** The plane's proxy counters, with the TCP ones of every worker (alive or not) added. */
  counters(): ProxyPlaneCounters;
  /** Stops accepting, waits up to graceMs for connections to finish, then resets the rest. */
  stop(graceMs: number): Promise<void>;
}

// ---------------------------------------------------------------- messages
/** primary -> worker */
type ToWorker =
  | { t: 'conn'; id: number; host: string; port: number; pp: 0 | 1 | 2; connectTimeoutMs: number; retries: number }
  | { t: 'retried'; id: number; host?: string; port?: number; pp?: 0 | 1 | 2 }
  | { t: 'abort'; id: number }
  | { t: 'cfg'; tcpMs: number; tcpfinMs: number }
  | { t: 'stop'; graceMs: number };
/**
 * worker -> primary: one ordered queue per message, entries
 *   Q_BYTES id inBytes inPkts outBytes outPkts | Q_EVENT id e   (e: 1 est, 2 cfin, 3 sfin, 4 rst, 5 closed, 6 retry)
 * Events go out on the next turn of the worker's loop, so a busy worker sends one message for many.
 */
type FromWorker = { t: 'q'; q: number[] } | { t: 'counters'; c: Record<string, number> };
/** How often a worker reports its proxy counters (cumulative) when they changed. */
const COUNTERS_MS = 1000;
const Q_BYTES = 1;
const Q_EVENT = 2;

interface Remote {
  conn: EngineConn;
  w: WorkerHandle;
  svc: VirtualService;
}

interface WorkerHandle {
  proc: ChildProcess;
  conns: number;
}

/** Starts the plane and, when workers > 1, the worker processes. */
export async function startProxyPool(opts: ProxyPoolOptions): Promise<ProxyPool> {
  const engine = opts.engine ?? new TableEngine(opts.table);
  // Workers take accepted net.Sockets from the primary: that hand-off needs Node sockets.
  const plane = new ProxyPlane({ ...opts, engine, tcpIo: opts.workers > 1 ? 'node' : opts.tcpIo });
  if (opts.workers <= 1) {
    await plane.start();
    return {
      plane,
      reconcile: () => plane.reconcile(),
      remoteConns: () => 0,
      counters: () => plane.counters(),
      stop: (g) => plane.stop(g),
    };
  }
  const remotes = new Map<number, Remote>();
  const workers: WorkerHandle[] = [];
  let nextId = 1;
  let rr = 0;
  let stopping = false;
  let respawns = 0;
  const respawnTimer = setInterval(() => { respawns = 0; }, 60_000);
  respawnTimer.unref();

  const spawnWorker = (): WorkerHandle => {
    const proc = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [WORKER_ENV]: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const w: WorkerHandle = { proc, conns: 0 };
    proc.on('message', (m: FromWorker) => onWorkerMessage(w, m));
    proc.on('exit', () => {
      // A worker died: its sockets died with it; the engine hears resets.
      for (const [id, r] of remotes) if (r.w === w) { r.conn.reset(); r.conn.closed(); remotes.delete(id); }
      const i = workers.indexOf(w);
      if (i !== -1) workers.splice(i, 1);
      // Bounded: a worker that keeps dying leaves the primary serving alone (handoff falls back).
      if (!stopping && respawns++ < 5) { opts.log?.('proxy: a worker exited; starting another'); workers.push(spawnWorker()); }
    });
    send(w, cfgMessage());
    return w;
  };
  const send = (w: WorkerHandle, m: ToWorker, handle?: net.Socket) => {
    if (!w.proc.connected) return;
    try { w.proc.send(m, handle as net.Socket, { keepOpen: false }); } catch { /* the exit handler cleans up */ }
  };
  const cfgMessage = (): ToWorker => ({ t: 'cfg', tcpMs: engine.tcpIdleMs(false), tcpfinMs: engine.tcpIdleMs(true) });

  // The latest cumulative counters of every worker ever started, kept after it exits (so totals
  // never go back, and a report that arrives after the exit event just replaces the last one).
  const workerCounters = new Map<WorkerHandle, Record<string, number>>();
  const onWorkerMessage = (w: WorkerHandle, m: FromWorker) => {
    if (m.t === 'counters') { workerCounters.set(w, m.c); return; }
    const q = m.q;
    for (let i = 0; i < q.length;) {
      if (q[i] === Q_BYTES) {
        const r = remotes.get(q[i + 1]);
        if (r) {
          if (q[i + 3] > 0) r.conn.inData(q[i + 2], q[i + 3]);
          if (q[i + 5] > 0) r.conn.outData(q[i + 4], q[i + 5]);
        }
        i += 6;
      } else {
        onEvent(w, q[i + 1], q[i + 2]);
        i += 3;
      }
    }
  };
  const onEvent = (w: WorkerHandle, id: number, e: number) => {
    const r = remotes.get(id);
    if (!r) return;
    switch (e) {
      case 1: r.conn.established(); break;
      case 2: r.conn.clientFin(); break;
      case 3: r.conn.serverFin(); break;
      case 4: r.conn.reset(); break;
      case 5: r.conn.closed(); remotes.delete(id); w.conns--; break;
      case 6: {
        const next = r.conn.retry();
        const n = next instanceof Promise ? undefined : next;
        if (n) {
          r.conn = n;
          send(w, { t: 'retried', id, host: n.destHost, port: n.destPort, pp: ppOf(r.svc, n.dest) });
        } else {
          remotes.delete(id); w.conns--;
          send(w, { t: 'retried', id });
        }
        break;
      }
    }
  };
  const ppOf = (svc: VirtualService, d: Destination) => opts.proxyProtocolFor?.(svc, d) ?? 0;

  for (let i = 0; i < opts.workers; i++) workers.push(spawnWorker());
  const cfgTimer = setInterval(() => { for (const w of workers) send(w, cfgMessage()); }, 1000);
  cfgTimer.unref();

  const handoff = (l: TcpListener, c: net.Socket): boolean => {
    if (workers.length === 0) return false;
    const w = workers[rr++ % workers.length];
    if (!w.proc.connected || c.remoteAddress === undefined) return false;
    const res = engine.open(l.svc, 'tcp', { clientIp: unmap(c.remoteAddress), clientPort: c.remotePort ?? 0, vip: l.vip, vport: l.vport }, 0);
    if (typeof res === 'string') { l.counters.refused++; c.resetAndDestroy(); return true; }
    const id = nextId++;
    remotes.set(id, { conn: res, w, svc: l.svc });
    w.conns++;
    send(w, { t: 'conn', id, host: res.destHost, port: res.destPort, pp: ppOf(l.svc, res.dest), connectTimeoutMs: l.opts.connectTimeoutMs, retries: l.opts.retries }, c);
    return true;
  };
  const attach = () => {
    for (const svc of opts.table.services()) {
      const l = plane.listenerOf(svc);
      if (l instanceof TcpListener) l.handoff = handoff;
    }
  };
  const expireRemote = () => {
    if (!engine.expireNodestConn()) return;
    for (const [id, r] of remotes) if (!r.conn.dest.isAvailable) send(r.w, { t: 'abort', id });
  };

  await plane.start();
  attach();
  return {
    plane,
    reconcile: async () => { const st = await plane.reconcile(); attach(); expireRemote(); return st; },
    remoteConns: () => remotes.size,
    counters: () => {
      const c = plane.counters();
      const tcp = c.tcp as TcpProxyCounters; // a snapshot: the workers' counts add onto it
      for (const wc of workerCounters.values()) for (const k of TCP_COUNTER_NAMES) tcp[k] += wc[k] ?? 0;
      return c;
    },
    stop: async (graceMs) => {
      stopping = true;
      clearInterval(cfgTimer);
      clearInterval(respawnTimer);
      const exits = workers.map((w) => new Promise<void>((r) => {
        if (w.proc.exitCode !== null) { r(); return; }
        w.proc.once('exit', () => r());
        send(w, { t: 'stop', graceMs });
        setTimeout(() => { if (w.proc.exitCode === null) w.proc.kill('SIGKILL'); }, graceMs + 3000).unref();
      }));
      await Promise.all([plane.stop(graceMs), ...exits]);
    },
  };
}

function unmap(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

// ---------------------------------------------------------------- worker side

/** The engine as a worker sees it: decisions come from the primary; events go back to it. */
class RemoteConn implements EngineConn {
  readonly dest = {} as Destination;
  inB = 0; inP = 0; outB = 0; outP = 0;
  dirty = false;
  done = false;
  pendingRetry: ((c: EngineConn | undefined) => void) | undefined;

  constructor(readonly w: WorkerSide, readonly id: number, readonly destHost: string, readonly destPort: number, readonly proxyProtocol: 0 | 1 | 2) {}

  get alive(): boolean { return !this.done; }
  established(): void { this.w.event(this, 1); }
  inData(bytes: number, packets = 1): void { this.inB += bytes; this.inP += packets; this.mark(); }
  outData(bytes: number, packets = 1): void { this.outB += bytes; this.outP += packets; this.mark(); }
  clientFin(): void { this.w.event(this, 2); }
  serverFin(): void { this.w.event(this, 3); }
  reset(): void { if (!this.done) this.w.event(this, 4); }
  closed(): void {
    if (this.done) return;
    this.w.event(this, 5);
    this.done = true;
    this.w.conns.delete(this.id);
  }
  retry(): Promise<EngineConn | undefined> {
    this.w.event(this, 6);
    this.done = true;
    return new Promise((resolve) => { this.pendingRetry = resolve; });
  }
  private mark(): void {
    if (!this.dirty) { this.dirty = true; this.w.dirty.push(this); }
  }
}

class WorkerSide {
  /** Counters of every listener of this worker. */
  readonly counters = new TcpProxyCounters();
  readonly conns = new Map<number, { conn: RemoteConn; listener: TcpListener }>();
  dirty: RemoteConn[] = [];
  private queue: number[] = [];
  private flushScheduled = false;
  tcpMs = 900_000;
  tcpfinMs = 120_000;
  readonly clock: CoarseClock = { now: performance.now() };
  private readonly listeners = new Map<string, TcpListener>();
  private readonly engine: ProxyEngine = {
    open: () => 'drop',
    tcpIdleMs: (half) => (half ? this.tcpfinMs : this.tcpMs),
    udpIdleMs: () => 300_000,
    expireNodestConn: () => false,
    tick: () => undefined,
  };

  run(): void {
    process.on('message', (m: ToWorker, handle: unknown) => this.onMessage(m, handle as net.Socket | undefined));
    process.on('disconnect', () => process.exit(0));
    setInterval(() => {
      this.clock.now = performance.now();
      for (const l of this.listeners.values()) l.sweep(this.clock.now);
      this.flush();
    }, FLUSH_MS);
    setInterval(() => this.sendCounters(), COUNTERS_MS);
  }

  private lastCounters = '';
  /** Reports the worker's counters when they changed (the primary counted the accepts). */
  private sendCounters(): void {
    const c: Record<string, number> = { ...this.counters };
    const text = JSON.stringify(c);
    if (text === this.lastCounters) return;
    this.lastCounters = text;
    process.send?.({ t: 'counters', c });
  }

  private listenerFor(timeoutMs: number, retries: number): TcpListener {
    const k = `${timeoutMs}|${retries}`;
    let l = this.listeners.get(k);
    if (!l) {
      const opts: TcpServiceOptions = {
        connectTimeoutMs: timeoutMs, retries, acceptProxyFrom: [], proxyHeaderTimeoutMs: 0, proxyProtocolFor: () => 0,
      };
      l = new TcpListener(undefined as unknown as VirtualService, '', 0, '', 0, this.engine, opts, this.clock, this.counters);
      this.listeners.set(k, l);
    }
    return l;
  }

  private onMessage(m: ToWorker, handle: net.Socket | undefined): void {
    switch (m.t) {
      case 'conn': {
        if (!handle) return;
        // Sockets rebuilt from a passed handle default to allowHalfOpen=false (they would answer
        // the client's FIN with their own at once); half-close must pass through.
        handle.allowHalfOpen = true;
        const conn = new RemoteConn(this, m.id, m.host, m.port, m.pp);
        const l = this.listenerFor(m.connectTimeoutMs, m.retries);
        this.conns.set(m.id, { conn, listener: l });
        l.adopt(handle, conn);
        break;
      }
      case 'retried': {
        const e = this.conns.get(m.id);
        if (!e) return;
        const resolve = e.conn.pendingRetry;
        e.conn.pendingRetry = undefined;
        if (m.host === undefined) { this.conns.delete(m.id); resolve?.(undefined); return; }
        const next = new RemoteConn(this, m.id, m.host, m.port!, m.pp ?? 0);
        e.conn = next;
        resolve?.(next);
        break;
      }
      case 'abort': {
        const e = this.conns.get(m.id);
        if (!e) return;
        // The primary asks only for conns whose real server left (expire_nodest_conn).
        this.counters.expiredNodest += e.listener.abortWhere((s) => s.conn === e.conn);
        break;
      }
      case 'cfg': this.tcpMs = m.tcpMs; this.tcpfinMs = m.tcpfinMs; break;
      case 'stop': void this.stop(m.graceMs); break;
    }
  }

  event(c: RemoteConn, e: number): void {
    if (c.dirty) this.pushBytes(c);
    this.queue.push(Q_EVENT, c.id, e);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushQueue);
    }
  }

  private pushBytes(c: RemoteConn): void {
    this.queue.push(Q_BYTES, c.id, c.inB, c.inP, c.outB, c.outP);
    c.inB = c.inP = c.outB = c.outP = 0;
    c.dirty = false;
  }

  private readonly flushQueue = (): void => {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const q = this.queue;
    this.queue = [];
    process.send?.({ t: 'q', q });
  };

  /** Sends every pending byte count and event (the 100 ms timer, stop). */
  flush(): void {
    for (const c of this.dirty) if (c.dirty) this.pushBytes(c);
    this.dirty = [];
    this.flushQueue();
  }

  private async stop(graceMs: number): Promise<void> {
    const all = [...this.listeners.values()];
    if (graceMs > 0) {
      const end = Date.now() + graceMs;
      while (Date.now() < end && all.some((l) => l.sessions.size > 0)) await new Promise((r) => setTimeout(r, 50));
    }
    for (const l of all) l.abortWhere(() => true);
    await Promise.all(all.map((l) => l.drained()));
    this.flush();
    this.sendCounters();
    process.disconnect?.();
    process.exit(0);
  }
}

if (process.env[WORKER_ENV] === '1' && process.send) {
  // A forked worker carries the TCP load: its scavenges too must run on its loop's thread
  // (V8 flags set at run time are not inherited by fork()).
  chooseGcMode();
  new WorkerSide().run();
}
