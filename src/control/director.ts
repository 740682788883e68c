// The director's control state: the live service table, the connection source (the engine's
// connection table), events, and the one apply path every change takes (config reload, tsvsadm,
// REST). A change is first replayed on a scratch copy of the table; only if every operation
// succeeds there is it applied to the live table, so a rejected change leaves nothing half-done.
import { TsvsError } from '../core/errors.js';
import { formatEndpoint } from '../core/net/addr.js';
import { serviceKeyString } from '../core/service/keys.js';
import { ServiceTable } from '../core/service/service-table.js';
import { type SchedulerEnv, SchedulerRegistry } from '../core/sched/scheduler.js';
import type {
  ApplyResult, ConnView, DataplaneCounters, DesiredService, DirectorApi, DirectorEvent, RealServerHealth, TableOp,
} from './director-api.js';
import { diffDesired } from './reconcile.js';

/** The longest timeout `--set` accepts (31 days), as ipvsadm. */
const MAX_TIMEOUT_S = 2678400;

/** What the director needs from the engine's connection layer. */
export interface ConnSource {
  connections(offset: number, limit: number): { total: number; entries: ConnView[] };
  counters(): DataplaneCounters;
  getTimeouts(): { tcp: number; tcpfin: number; udp: number };
  /** Sets the three timeouts; 0 leaves one unchanged (spec §2.5). */
  setTimeouts(t: { tcp: number; tcpfin: number; udp: number }): void;
  /** A destination left its service (expire_nodest_conn handling). */
  destinationRemoved(destId: number): void;
  /** All connections are dropped (table flush). */
  flush?(): void;
}

/** A connection source with no connections (a director without a data plane). */
export class NoConnections implements ConnSource {
  private t = { tcp: 900, tcpfin: 120, udp: 300 };
  connections() { return { total: 0, entries: [] }; }
  counters() { return { drops: {}, conns: 0, connsMax: 0 }; }
  getTimeouts() { return { ...this.t }; }
  setTimeouts(t: { tcp: number; tcpfin: number; udp: number }) {
    this.t = { tcp: t.tcp || this.t.tcp, tcpfin: t.tcpfin || this.t.tcpfin, udp: t.udp || this.t.udp };
  }
  destinationRemoved() {}
}

export interface DirectorOptions {
  readonly registry: SchedulerRegistry;
  readonly env: SchedulerEnv;
  readonly conns?: ConnSource;
  readonly table?: ServiceTable;
}

export class Director implements DirectorApi {
  readonly table: ServiceTable;
  private connSource: ConnSource;
  private readonly listeners = new Set<(e: DirectorEvent) => void>();
  private readonly opsListeners = new Set<(ops: readonly TableOp[]) => void>();
  private healthProvider: () => RealServerHealth[] = () => [];

  constructor(private readonly opts: DirectorOptions) {
    this.table = opts.table ?? new ServiceTable({ registry: opts.registry, env: opts.env });
    this.connSource = opts.conns ?? new NoConnections();
  }

  /** Plugs in the data plane's connection layer. */
  setConnSource(source: ConnSource): void {
    this.connSource = source;
  }

  setHealthProvider(fn: () => RealServerHealth[]): void {
    this.healthProvider = fn;
  }

  applyOps(ops: readonly TableOp[], opts: { dryRun?: boolean; source?: string } = {}): ApplyResult {
    const dryRun = opts.dryRun ?? false;
    if (ops.length === 0) return { ok: true, dryRun, ops };
    const scratch = this.scratchCopy(ops);
    for (let i = 0; i < ops.length; i++) {
      try {
        this.applyOne(scratch, ops[i], false);
      } catch (e) {
        const error = e instanceof TsvsError
          ? { errno: e.errno, message: e.message, opIndex: i }
          : { message: e instanceof Error ? e.message : String(e), opIndex: i };
        if (!dryRun) this.emit('rejected', `change from ${opts.source ?? 'api'} rejected: ${error.message}`, { opIndex: i });
        return { ok: false, dryRun, ops, error };
      }
    }
    if (!dryRun) {
      for (let i = 0; i < ops.length; i++) {
        try {
          this.applyOne(this.table, ops[i], true);
        } catch (e) {
          // The scratch replay accepted it, so this is a tsvs bug (the copy differs from the live
          // table). Keep the daemon alive, say what happened, and report the change as failed.
          const message = `internal error applying ${describeOp(ops[i])}: ${e instanceof Error ? e.message : String(e)} (${i} of ${ops.length} operations were applied)`;
          this.emit('rejected', message, { opIndex: i, internal: true });
          return { ok: false, dryRun, ops, error: { message, opIndex: i } };
        }
      }
      this.emit('applied', `${ops.length} change(s) applied from ${opts.source ?? 'api'}`, { ops: ops.map(describeOp) });
      for (const l of this.opsListeners) {
        try { l(ops); } catch { /* a listener's failure is its own */ }
      }
    }
    return { ok: true, dryRun, ops };
  }

  applyDesired(desired: readonly DesiredService[], opts: { dryRun?: boolean; source?: string } = {}): ApplyResult {
    const seen = new Set<string>();
    for (const d of desired) {
      const k = serviceKeyString(d.service.key);
      if (seen.has(k)) return { ok: false, dryRun: opts.dryRun ?? false, ops: [], error: { errno: 'EEXIST', message: `service ${k} is listed twice` } };
      seen.add(k);
    }
    return this.applyOps(diffDesired(this.table, desired), opts);
  }

  connections(offset: number, limit: number) {
    return this.connSource.connections(offset, limit);
  }

  dataplaneCounters() {
    return this.connSource.counters();
  }

  health(): RealServerHealth[] {
    return this.healthProvider();
  }

  timeouts() {
    return this.connSource.getTimeouts();
  }

  onEvent(listener: (e: DirectorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Subscribes to the operations of every applied change, in order (what the 'applied' event
   * describes, as data: a data plane whose engine runs elsewhere replays them). Returns the
   * unsubscribe function.
   */
  onApplied(listener: (ops: readonly TableOp[]) => void): () => void {
    this.opsListeners.add(listener);
    return () => this.opsListeners.delete(listener);
  }

  /** Tells every listener; a failing listener never breaks the director. */
  emit(kind: DirectorEvent['kind'], message: string, data?: Record<string, unknown>): void {
    const e: DirectorEvent = { time: new Date().toISOString(), kind, message, data };
    for (const l of this.listeners) {
      try { l(e); } catch { /* a listener's failure is its own */ }
    }
  }

  /**
   * A copy of the table to validate changes on: every service (so existence checks hold), with its
   * destinations only where an operation reaches into it, and schedulers that only check what their
   * real create() would refuse (no mh tables, no state). Validating a change therefore costs
   * O(services) cheap objects, not a rebuild of every scheduler.
   */
  private scratchCopy(ops: readonly TableOp[]): ServiceTable {
    const touched = new Set<string>();
    for (const op of ops) {
      if (op.op === 'add-dest' || op.op === 'edit-dest' || op.op === 'delete-dest') touched.add(serviceKeyString(op.key));
      else if (op.op === 'edit-service') touched.add(serviceKeyString(op.service.key));
    }
    const scratch = new ServiceTable({ registry: this.checkRegistry(), env: this.opts.env });
    for (const svc of this.table.services()) {
      scratch.addService(svc.config());
      if (!touched.has(serviceKeyString(svc.key))) continue;
      for (let i = svc.destinations.length - 1; i >= 0; i--) scratch.addDest(svc.key, svc.destinations[i].config());
    }
    return scratch;
  }

  private checkRegistryCache: SchedulerRegistry | undefined;

  private checkRegistry(): SchedulerRegistry {
    if (this.checkRegistryCache) return this.checkRegistryCache;
    const r = new SchedulerRegistry();
    for (const name of this.opts.registry.names()) {
      const real = this.opts.registry.get(name)!;
      r.register({
        name,
        create: (svc, env) => { real.validate?.(svc, env); return { name, schedule: () => undefined }; },
      });
    }
    this.checkRegistryCache = r;
    return r;
  }

  private applyOne(table: ServiceTable, op: TableOp, live: boolean): void {
    switch (op.op) {
      case 'add-service': table.addService(op.service); break;
      case 'edit-service': table.editService(op.service); break;
      case 'delete-service': {
        const svc = table.getService(op.key);
        const ids = svc ? svc.destinations.map((d) => d.id) : [];
        table.deleteService(op.key);
        if (live) for (const id of ids) this.connSource.destinationRemoved(id);
        break;
      }
      case 'add-dest': table.addDest(op.key, op.dest); break;
      case 'edit-dest': table.editDest(op.key, op.dest); break;
      case 'delete-dest': {
        const svc = table.getService(op.key);
        const dest = svc && table.findDest(svc, op.addr, op.port);
        table.deleteDest(op.key, op.addr, op.port);
        if (live && dest) this.connSource.destinationRemoved(dest.id);
        break;
      }
      case 'flush': {
        const ids = table.services().flatMap((s) => s.destinations.map((d) => d.id));
        table.flush();
        if (live) for (const id of ids) this.connSource.destinationRemoved(id);
        break;
      }
      case 'zero': {
        if (op.key) {
          const svc = table.getService(op.key);
          if (!svc) throw new TsvsError('ESRCH', 'No such service');
          if (live) { svc.stats.zeroCounters(); for (const d of svc.destinations) d.stats.zeroCounters(); }
        } else if (live) {
          table.totals.zeroCounters();
          for (const svc of table.services()) { svc.stats.zeroCounters(); for (const d of svc.destinations) d.stats.zeroCounters(); }
        }
        break;
      }
      case 'set-timeouts': {
        for (const [name, v] of Object.entries({ tcp: op.tcp, tcpfin: op.tcpfin, udp: op.udp })) {
          if (!Number.isInteger(v) || v < 0 || v > MAX_TIMEOUT_S) throw new TsvsError('EINVAL', `Timeout '${name}' must be 0..${MAX_TIMEOUT_S} seconds: current value is ${v}`);
        }
        if (live) this.connSource.setTimeouts({ tcp: op.tcp, tcpfin: op.tcpfin, udp: op.udp });
        break;
      }
    }
  }
}

/** A short text for an operation (events and logs). */
export function describeOp(op: TableOp): string {
  switch (op.op) {
    case 'add-service': case 'edit-service': return `${op.op} ${serviceKeyString(op.service.key)}`;
    case 'delete-service': return `${op.op} ${serviceKeyString(op.key)}`;
    case 'add-dest': case 'edit-dest': return `${op.op} ${serviceKeyString(op.key)} -> ${formatEndpoint(op.dest.addr, op.dest.port)}`;
    case 'delete-dest': return `${op.op} ${serviceKeyString(op.key)} -> ${formatEndpoint(op.addr, op.port)}`;
    default: return op.op;
  }
}
