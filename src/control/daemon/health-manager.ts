// Runs the health checks of the config and turns their state into the effective desired table:
// the config says what the table is when everything is healthy; failed real servers are removed
// (or set to weight 0 with inhibit_on_failure), and the sorry server replaces the pool when quorum
// is lost (spec §7.2). The daemon applies the effective table through the Director's one apply path.
import { type Endpoint, formatEndpoint, ipEquals } from '../../core/net/addr.js';
import { serviceKeyString } from '../../core/service/keys.js';
import type { DestConfig, ServiceKey } from '../../core/service/types.js';
import type { DesiredService as ConfigService } from '../config/to-table.js';
import type { DesiredService, RealServerHealth } from '../director-api.js';
import type { Director } from '../director.js';
import { HealthCheckRunner, RealServerState } from '../health/index.js';
import { buildChecker } from './checkers.js';

interface ServiceHealth {
  readonly key: ServiceKey;
  readonly fingerprint: string;
  readonly state: RealServerState;
  readonly runners: Array<{ readonly rs: Endpoint; readonly id: string; readonly runner: HealthCheckRunner; lastDetail: string; up: boolean }>;
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

  /** Brings checks in line with the config; unchanged services keep their state and runners. */
  sync(config: readonly ConfigService[]): void {
    const next = new Map<string, ServiceHealth>();
    for (const svc of config) {
      const key = serviceKeyString(svc.service.key);
      const fp = fingerprint(svc);
      const old = this.services.get(key);
      if (old && old.fingerprint === fp) { next.set(key, old); continue; }
      if (old) this.stopService(old);
      next.set(key, this.startService(svc, fp));
    }
    for (const [key, old] of this.services) if (!next.has(key)) this.stopService(old);
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
        const d = want.find((w) => w.role === 'real' && sameEndpoint(w.dest, rs.dest));
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
          checkers: h.runners.filter((r) => sameEndpoint(r.rs, rs.dest)).map((r) => ({ name: r.runner.describe(), up: r.up, lastDetail: r.lastDetail })),
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

  private startService(svc: ConfigService, fp: string): ServiceHealth {
    const spec = {
      service: svc.service.key,
      realServers: svc.realServers.map((rs) => ({
        dest: { addr: rs.dest.addr, port: rs.dest.port }, weight: rs.dest.weight, inhibitOnFailure: rs.inhibitOnFailure,
        checkers: rs.checks.map((_, i) => String(i)), alpha: rs.alpha,
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
    const h: ServiceHealth = { key: svc.service.key, fingerprint: fp, state, runners: [] };
    svc.realServers.forEach((rs) => {
      rs.checks.forEach((rc, i) => {
        const dest = { addr: rs.dest.addr, port: rs.dest.port };
        const entry = { rs: dest, id: String(i), runner: undefined as unknown as HealthCheckRunner, lastDetail: '', up: !rc.alpha };
        entry.runner = new HealthCheckRunner({
          checker: buildChecker(rc),
          delayLoopMs: rc.delayLoopS * 1000, connectTimeoutMs: rc.timeoutS * 1000, retry: rc.retry,
          delayBeforeRetryMs: rc.delayBeforeRetryS * 1000, warmupMs: rc.warmupS * 1000, alpha: rc.alpha,
          onResult: (r) => { entry.lastDetail = r.detail; },
          onTransition: (t) => {
            entry.up = t.up;
            this.opts.log('health-transition', { service: serviceKeyString(svc.service.key), dest: formatEndpoint(dest.addr, dest.port), checker: t.checker, up: t.up, detail: t.result.detail });
            state.applyTransition(dest, entry.id, { up: t.up, weight: t.weight });
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

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && ipEquals(a.addr, b.addr);
}

/** What decides whether a service's health setup changed (addresses as text). */
function fingerprint(svc: ConfigService): string {
  return JSON.stringify({ rs: svc.realServers.map((r) => ({ d: formatEndpoint(r.dest.addr, r.dest.port), w: r.dest.weight, i: r.inhibitOnFailure, a: r.alpha, c: r.checks.map((c) => c.spec) })), q: svc.quorum, h: svc.hysteresis, s: svc.sorryServer && formatEndpoint(svc.sorryServer.dest.addr, svc.sorryServer.dest.port), o: svc.omega });
}
