// Runs the health checks of the config and turns their state into the effective desired table:
// the config says what the table is when everything is healthy; failed real servers are removed
// (or set to weight 0 with inhibit_on_failure), and the sorry server replaces the pool when quorum
// is lost (spec §7.2). The daemon applies the effective table through the Director's one apply path.
import { type Endpoint, endpointEquals, formatEndpoint } from '../../core/net/addr.js';
import { serviceKeyString } from '../../core/service/keys.js';
import type { DestConfig, ServiceKey } from '../../core/service/types.js';
import type { DesiredService as ConfigService, ResolvedCheck } from '../config/to-table.js';
import type { DesiredService, RealServerHealth } from '../director-api.js';
import type { Director } from '../director.js';
import { HealthCheckRunner, RealServerState } from '../health/index.js';
import { buildChecker } from './checkers.js';

interface RunnerEntry {
  readonly rs: Endpoint;
  /** Checker id within its real server: the real server, the resolved check, and a duplicate index. */
  readonly id: string;
  readonly runner: HealthCheckRunner;
  lastDetail: string;
  up: boolean;
  /** The service health that currently owns it (a reload may hand a runner to a new one). */
  owner: ServiceHealth;
}

interface ServiceHealth {
  readonly key: ServiceKey;
  readonly fingerprint: string;
  readonly state: RealServerState;
  readonly runners: RunnerEntry[];
}

export interface HealthManagerOptions {
  /** Called (coalesced) whenever the effective table may have changed. */
  readonly onChange: () => void;
  readonly log: (event: string, data: Record<string, unknown>) => void;
}

export class HealthManager {
  private services = new Map<string, ServiceHealth>();
  private pending = false;
  private stopped = false;

  constructor(private readonly opts: HealthManagerOptions) {}

  /**
   * Brings checks in line with the config. An unchanged service keeps everything; in a changed
   * one, every check whose real server and resolved settings are unchanged keeps running and keeps
   * its up/down state (as keepalived carries checker state over a reload); only new or changed
   * checks start afresh.
   */
  sync(config: readonly ConfigService[]): void {
    const next = new Map<string, ServiceHealth>();
    const reusable = new Map<string, RunnerEntry>();
    for (const svc of config) {
      const key = serviceKeyString(svc.service.key);
      const old = this.services.get(key);
      if (old && old.fingerprint === fingerprint(svc)) { next.set(key, old); continue; }
      if (old) for (const r of old.runners) reusable.set(`${key}|${r.id}`, r);
    }
    for (const svc of config) {
      const key = serviceKeyString(svc.service.key);
      if (!next.has(key)) next.set(key, this.startService(svc, (id) => { const r = reusable.get(`${key}|${id}`); reusable.delete(`${key}|${id}`); return r; }));
    }
    for (const [key, old] of this.services) {
      if (next.get(key) === old) continue;
      // Runners not handed over to the new service health stop (their check changed or went away).
      for (const r of old.runners) if (r.owner === old) void r.runner.stop();
    }
    this.services = next;
  }

  /** The table to apply: the config with health applied. */
  effective(config: readonly ConfigService[]): DesiredService[] {
    return config.map((svc) => {
      const h = this.services.get(serviceKeyString(svc.service.key));
      if (!h) return { service: svc.service, dests: svc.dests };
      const dests: DestConfig[] = [];
      const want = h.state.desired();
      for (const rs of svc.realServers) {
        const d = want.find((w) => w.role === 'real' && endpointEquals(w.dest, rs.dest));
        if (d) dests.push({ ...rs.dest, weight: d.weight });
      }
      const sorry = want.find((w) => w.role === 'sorry');
      if (sorry && svc.sorryServer) dests.push({ ...svc.sorryServer.dest, weight: sorry.weight });
      return { service: svc.service, dests };
    });
  }

  /** Health of every real server (REST, dashboard). */
  snapshot(director: Director): RealServerHealth[] {
    const out: RealServerHealth[] = [];
    for (const [, h] of this.services) {
      const snap = h.state.snapshot();
      const svc = director.table.getService(h.key);
      if (!svc) continue;
      for (const rs of snap.realServers) {
        out.push({
          service: svc, dest: director.table.findDest(svc, rs.dest.addr, rs.dest.port), addr: rs.dest.addr, port: rs.dest.port, alive: rs.alive,
          checkers: h.runners.filter((r) => endpointEquals(r.rs, rs.dest)).map((r) => ({ name: r.runner.describe(), up: r.up, lastDetail: r.lastDetail })),
        });
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.services.values()].map((h) => this.stopService(h)));
    this.services.clear();
  }

  private startService(svc: ConfigService, reuse: (id: string) => RunnerEntry | undefined): ServiceHealth {
    const ids = svc.realServers.map((rs) => checkIds(rs));
    const spec = {
      service: svc.service.key,
      realServers: svc.realServers.map((rs, i) => ({
        dest: { addr: rs.dest.addr, port: rs.dest.port }, weight: rs.dest.weight, inhibitOnFailure: rs.inhibitOnFailure,
        checkers: ids[i], alpha: rs.alpha,
      })),
      quorum: svc.quorum, hysteresis: svc.hysteresis,
      sorryServer: svc.sorryServer ? { addr: svc.sorryServer.dest.addr, port: svc.sorryServer.dest.port } : undefined,
      sorryServerInhibit: svc.sorryServer?.inhibit, omega: svc.omega,
    };
    const state = new RealServerState(spec, {
      onChange: () => this.changed(),
      onNotice: (n) => this.opts.log(`health-${n.kind}`, { service: serviceKeyString(n.service), ...('dest' in n ? { dest: formatEndpoint(n.dest.addr, n.dest.port) } : { weightSum: n.weightSum, threshold: n.threshold }) }),
    });
    state.start();
    const h: ServiceHealth = { key: svc.service.key, fingerprint: fingerprint(svc), state, runners: [] };
    svc.realServers.forEach((rs, i) => {
      rs.checks.forEach((rc, j) => {
        const id = ids[i][j];
        const dest = { addr: rs.dest.addr, port: rs.dest.port };
        const kept = reuse(id);
        if (kept) {
          kept.owner = h;
          h.runners.push(kept);
          state.setCheckerState(dest, id, kept.up);
          return;
        }
        const entry = { rs: dest, id, runner: undefined as unknown as HealthCheckRunner, lastDetail: '', up: !rc.alpha, owner: h };
        entry.runner = new HealthCheckRunner({
          checker: buildChecker(rc),
          delayLoopMs: rc.delayLoopS * 1000, connectTimeoutMs: rc.timeoutS * 1000, retry: rc.retry,
          delayBeforeRetryMs: rc.delayBeforeRetryS * 1000, warmupMs: rc.warmupS * 1000, alpha: rc.alpha,
          onResult: (r) => { entry.lastDetail = r.detail; },
          onTransition: (t) => {
            entry.up = t.up;
            this.opts.log('health-transition', { service: serviceKeyString(entry.owner.key), dest: formatEndpoint(dest.addr, dest.port), checker: t.checker, up: t.up, detail: t.result.detail });
            entry.owner.state.applyTransition(dest, entry.id, { up: t.up, weight: t.weight });
          },
        });
        h.runners.push(entry);
        entry.runner.start();
      });
    });
    return h;
  }

  private async stopService(h: ServiceHealth): Promise<void> {
    await Promise.all(h.runners.map((r) => r.runner.stop()));
  }

  private changed(): void {
    if (this.pending || this.stopped) return;
    this.pending = true;
    queueMicrotask(() => { this.pending = false; if (!this.stopped) this.opts.onChange(); });
  }
}

/** A resolved check as text: what it checks and every timing it inherited (spec §7.1 cascade). */
function checkFingerprint(rc: ResolvedCheck): string {
  return JSON.stringify({
    spec: rc.spec, delayLoopS: rc.delayLoopS, timeoutS: rc.timeoutS, retry: rc.retry, delayBeforeRetryS: rc.delayBeforeRetryS,
    warmupS: rc.warmupS, alpha: rc.alpha, target: formatEndpoint(rc.target.addr, rc.target.port), virtualhosts: rc.virtualhosts,
    statusRanges: rc.statusRanges,
  });
}

/** The checker ids of a real server: endpoint + resolved check, numbered when identical checks repeat. */
function checkIds(rs: ConfigService['realServers'][number]): string[] {
  const seen = new Map<string, number>();
  return rs.checks.map((rc) => {
    const base = `${formatEndpoint(rs.dest.addr, rs.dest.port)}|${checkFingerprint(rc)}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base}#${n}`;
  });
}

/** What decides whether a service's health setup changed at all (addresses as text). */
function fingerprint(svc: ConfigService): string {
  return JSON.stringify({ rs: svc.realServers.map((r) => ({ d: formatEndpoint(r.dest.addr, r.dest.port), w: r.dest.weight, i: r.inhibitOnFailure, a: r.alpha, c: checkIds(r) })), q: svc.quorum, h: svc.hysteresis, s: svc.sorryServer && formatEndpoint(svc.sorryServer.dest.addr, svc.sorryServer.dest.port), si: svc.sorryServer?.inhibit, o: svc.omega });
}
