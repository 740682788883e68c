// The tsvs daemon: loads the config, runs the engine with a data plane, health checks, the control
// socket (tsvsadm), the REST API and metrics. Every change — config reload, tsvsadm, REST, health —
// goes through the Director's one apply path; the data plane follows the table after each change.
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:net';
import { Ipvs } from '../../core/conn/ipvs.js';
import { SYSCTL_NAMES, type Sysctls } from '../../core/conn/sysctls.js';
import { type IpAddress, ipEquals, parseIp } from '../../core/net/addr.js';
import { serviceKeyString } from '../../core/service/keys.js';
import type { RandomSource } from '../../core/random.js';
import { registerBuiltinSchedulers } from '../../core/sched/builtin.js';
import { MH_DEFAULT_TABLE_SIZE, SchedulerRegistry } from '../../core/sched/scheduler.js';
import { RateEstimator } from '../../core/stats/rate-estimator.js';
import { EtcResolver } from '../../cli/tsvsadm/etc-resolver.js';
import { execTsvsadm } from '../../cli/tsvsadm/exec.js';
import { parseArgs } from '../../cli/ipvsadm/index.js';
import { procView } from '../../cli/proc/view.js';
import type { ApiServer } from '../api/server.js';
import { startListeners } from '../api/listeners.js';
import type { MetricsSource } from '../metrics/prometheus.js';
import { ConfigError, loadConfigFile, loadConfigText } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { type DesiredService as ConfigService, toTable } from '../config/to-table.js';
import { type ControlReply, resolveControlSocket, startControlSocket } from '../control-socket.js';
import type { ApplyResult, DesiredService } from '../director-api.js';
import { diffDestsOnly } from '../reconcile.js';
import { Director } from '../director.js';
import { ipvsConnSource } from '../ipvs-conn-source.js';
import { HealthManager } from './health-manager.js';
import { type Logger, jsonLogger } from './logger.js';
import { type DataPlane, startDataPlane } from './dataplanes.js';
import { restartNeeded } from './restart-needed.js';
import { PROCESS_CLOCK } from '../../dataplane/turn-clock.js';
import type { OffloadMode, RunDataplane } from '../config/schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/tsvs/tsvs.yaml';
const TICK_MS = 100;

/** Where the configuration comes from. */
export type ConfigSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'text'; readonly text: string; readonly name: string } | { readonly kind: 'none' };

export interface DaemonOptions {
  readonly config: ConfigSource;
  /** Command-line overrides of the config. */
  readonly overrides?: {
    readonly dataplane?: RunDataplane;
    readonly interfaces?: readonly string[];
    /** The packet plane's fast path (dataplane.packet.offload). */
    readonly offload?: OffloadMode;
    readonly controlSocket?: string;
    readonly apiListen?: string;
    readonly api?: boolean;
  };
  readonly logger?: Logger;
}

/** Random numbers from the OS, buffered (scheduling twos, port allocation). */
export class CryptoRandom implements RandomSource {
  private buf = new Uint32Array(0);
  private i = 0;
  nextU32(): number {
    if (this.i >= this.buf.length) {
      const b = randomBytes(4096);
      this.buf = new Uint32Array(b.buffer, b.byteOffset, 1024);
      this.i = 0;
    }
    return this.buf[this.i++];
  }
}

export class Daemon {
  readonly director: Director;
  readonly ipvs: Ipvs;
  private readonly log: Logger;
  private readonly health: HealthManager;
  private readonly estimator: RateEstimator;
  private configServices: ConfigService[] = [];
  /** The effective desired table last applied (health changes are diffed against it). */
  private lastEffective: DesiredService[] = [];
  private dataplane: DataPlane | undefined;
  private control: Server | undefined;
  private apiServer: ApiServer | undefined;
  private metricsServer: ApiServer | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private reloads = { ok: 0, failed: 0 };
  private healthTransitions = 0;
  private stopping = false;
  /** Where tsvsadm reaches this daemon. */
  controlSocketPath = '';

  private constructor(private readonly opts: DaemonOptions, private config: Config) {
    this.log = opts.logger ?? jsonLogger();
    const registry = new SchedulerRegistry();
    registerBuiltinSchedulers(registry);
    const random = new CryptoRandom();
    this.director = new Director({
      registry,
      env: {
        clock: PROCESS_CLOCK, random, mhTableSize: MH_DEFAULT_TABLE_SIZE,
        lblcExpirationS: config.sysctl.lblc_expiration, lblcrExpirationS: config.sysctl.lblcr_expiration,
      },
    });
    const fullnat = config.dataplane.fullnat.localAddresses.length > 0
      ? { addresses: config.dataplane.fullnat.localAddresses.map((a) => parseIp(a)!), portMin: config.dataplane.fullnat.portRange.min, portMax: config.dataplane.fullnat.portRange.max }
      : undefined;
    this.ipvs = new Ipvs(this.director.table, {
      clock: PROCESS_CLOCK, random, sysctls: engineSysctls(config), fullnatPool: fullnat, maxConns: config.dataplane.maxConnections,
    });
    this.ipvs.setTimeouts(config.timeouts);
    this.director.setConnSource(ipvsConnSource(this.ipvs, this.director.table));
    const table = this.director.table;
    this.estimator = new RateEstimator(PROCESS_CLOCK, function* () {
      yield table.totals;
      for (const s of table.services()) { yield s.stats; for (const d of s.destinations) yield d.stats; }
    });
    this.health = new HealthManager({
      onChange: () => this.applyHealth(),
      log: (event, data) => {
        if (event === 'health-transition') this.healthTransitions++;
        this.log.log('info', event, data);
      },
    });
    this.director.setHealthProvider(() => this.health.snapshot(this.director));
    this.director.onEvent((e) => {
      this.log.log(e.kind === 'rejected' ? 'warn' : 'info', `director-${e.kind}`, { message: e.message, ...e.data });
      if (e.kind === 'applied') void this.dataplane?.reconcile();
    });
  }

  /** Loads the config and starts everything; throws (with the config's file:line errors) if it cannot. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const config = loadConfig(opts.config);
    const d = new Daemon(opts, config);
    try {
      await d.startParts();
    } catch (e) {
      // Undo what did start (health runners, data plane, control socket) before failing.
      await d.stop(0).catch(() => undefined);
      throw e;
    }
    return d;
  }

  private async startParts(): Promise<void> {
    const cfg = this.config;
    this.configServices = toTable(cfg);
    this.health.sync(this.configServices);
    const res = this.applyEffective('config');
    if (!res.ok) throw new Error(`Cannot apply the configuration: ${res.error?.message}`);
    const kind = this.opts.overrides?.dataplane ?? cfg.dataplane.kind;
    const currentConfig = () => this.config;
    this.dataplane = await startDataPlane(kind, {
      director: this.director, ipvs: this.ipvs,
      get config() { return currentConfig(); },
      interfaces: this.opts.overrides?.interfaces ?? cfg.dataplane.interfaces,
      offload: this.opts.overrides?.offload ?? cfg.dataplane.packet.offload,
      proxyProtocolOf: (svcKey, addr, port) => this.proxyProtocolOf(svcKey, addr, port),
      log: (event, data) => this.log.log('info', event, data),
    });
    const socketPath = this.opts.overrides?.controlSocket ?? resolveControlSocket(cfg.control.socket);
    const resolver = new EtcResolver();
    this.control = await startControlSocket(socketPath, (req) => req.tool === 'proc'
      ? this.proc(req.argv)
      : this.tsvsadm(req.argv, req.stdin ?? '', resolver));
    const d = this.director;
    const source: MetricsSource = {
      table: d.table,
      applyOps: (ops, o) => d.applyOps(ops, o),
      applyDesired: (desired, o) => d.applyDesired(desired, o),
      connections: (offset, limit) => d.connections(offset, limit),
      dataplaneCounters: () => d.dataplaneCounters(),
      health: () => d.health(),
      timeouts: () => d.timeouts(),
      onEvent: (l) => d.onEvent(l),
      controlCounters: () => ({ healthTransitions: this.healthTransitions, configReloads: { success: this.reloads.ok, failure: this.reloads.failed } }),
    };
    const listeners = await startListeners(source, cfg, {
      apiOn: this.opts.overrides?.api ?? cfg.api.enabled,
      apiListen: this.opts.overrides?.apiListen ?? cfg.api.listen,
      log: (listener, message) => this.log.log('info', listener, { message }),
    });
    this.apiServer = listeners.api;
    this.metricsServer = listeners.metrics;
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
    this.controlSocketPath = socketPath;
    this.log.log('info', 'started', {
      dataplane: kind, services: this.director.table.services().length, controlSocket: socketPath,
      api: this.apiServer?.url, metrics: this.metricsServer?.url,
    });
  }

  /** The API's address, when it runs. */
  get apiUrl(): string | undefined {
    return this.apiServer?.url;
  }

  /** SIGHUP: reloads the config. A bad config changes nothing and is reported. */
  reload(): ApplyResult | { ok: false; error: { message: string } } {
    let cfg: Config;
    try {
      cfg = loadConfig(this.opts.config);
    } catch (e) {
      this.reloads.failed++;
      const message = e instanceof Error ? e.message : String(e);
      this.log.log('error', 'reload-rejected', { message });
      this.director.emit('reload', `reload rejected: ${message}`, { ok: false });
      return { ok: false, error: { message } };
    }
    const services = toTable(cfg);
    const dry = this.director.applyDesired(services, { dryRun: true, source: 'reload' });
    if (dry.ok) this.warnRestartNeeded(cfg);
    if (!dry.ok) {
      this.reloads.failed++;
      this.log.log('error', 'reload-rejected', { message: dry.error?.message });
      this.director.emit('reload', `reload rejected: ${dry.error?.message}`, { ok: false });
      return dry;
    }
    this.config = cfg;
    this.configServices = services;
    this.health.sync(services);
    this.ipvs.setTimeouts(cfg.timeouts);
    for (const [k, v] of Object.entries(engineSysctls(cfg))) this.ipvs.setSysctl(k as keyof Sysctls, v as number);
    this.dataplane?.settingsChanged?.();
    const res = this.applyEffective('reload');
    if (!res.ok) {
      this.reloads.failed++;
      this.director.emit('reload', `reload failed: ${res.error?.message}`, { ok: false });
      return res;
    }
    this.reloads.ok++;
    this.director.emit('reload', 'configuration reloaded', { ok: true, ops: res.ops.length });
    return res;
  }

  /** Settings a reload cannot change in a running daemon: said once per reload, not silently ignored. */
  private warnRestartNeeded(next: Config): void {
    const changed = restartNeeded(this.config, next);
    if (changed.length > 0) this.log.log('warn', 'reload-restart-needed', { message: `changed settings take effect at the next restart: ${changed.join(', ')}`, settings: changed });
  }

  /** SIGTERM: stop accepting, let connections drain up to `graceMs`, stop everything. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.log('info', 'stopping', { graceMs });
    if (this.ticker) clearInterval(this.ticker);
    await this.health.stop();
    await this.dataplane?.stop(graceMs);
    await this.apiServer?.close();
    await this.metricsServer?.close();
    await new Promise<void>((r) => (this.control ? this.control.close(() => r()) : r()));
    this.log.log('info', 'stopped');
  }

  /**
   * One tsvsadm command. When the engine runs elsewhere (packet plane workers), a listing first
   * fetches what it shows: fresh counters, and for -c the workers' connections (async).
   */
  private async tsvsadm(argv: readonly string[], stdin: string, resolver: EtcResolver): Promise<ControlReply> {
    const dp = this.dataplane;
    const base = { director: this.director, resolver };
    if (!dp?.connEntries) return execTsvsadm(argv, { ...base, ipvs: this.ipvs }, stdin);
    const parsed = parseArgs(argv, { resolver });
    if (parsed.ok && parsed.command.kind === 'list') {
      if (parsed.command.list.view === 'connections') {
        const entries = await dp.connEntries();
        return execTsvsadm(argv, { ...base, connEntries: () => entries }, stdin);
      }
      await dp.refreshCounters?.().catch(() => undefined);
    }
    return execTsvsadm(argv, { ...base, connEntries: () => [] }, stdin);
  }

  /** `tsvs proc`: with the engine elsewhere (packet plane), fresh counters and its connections first. */
  private async proc(argv: readonly string[]): Promise<ControlReply> {
    const dp = this.dataplane;
    if (!dp?.connEntries) return procView(argv, this.director, this.ipvs);
    await dp.refreshCounters?.().catch(() => undefined);
    const conns = argv[0] === 'ip_vs_conn' || argv[0] === 'ip_vs_conn_sync' ? await dp.connEntries() : undefined;
    return procView(argv, this.director, this.ipvs, conns);
  }

  /** The PROXY protocol version the config asks for toward a real server (0 = none). */
  private proxyProtocolOf(svcKey: string, addr: IpAddress, port: number): 0 | 1 | 2 {
    for (const svc of this.configServices) {
      if (serviceKeyString(svc.service.key) !== svcKey) continue;
      const rs = svc.realServers.find((r) => r.dest.port === port && ipEquals(r.dest.addr, addr));
      if (rs) return rs.proxyProtocol === 'v1' ? 1 : rs.proxyProtocol === 'v2' ? 2 : 0;
    }
    return 0;
  }

  /** The whole desired table (config with health applied) at start and reload: a full diff. */
  private applyEffective(source: string): ApplyResult {
    const eff = this.health.effective(this.configServices);
    const res = this.director.applyDesired(eff, { source });
    if (res.ok) this.lastEffective = eff;
    else this.log.log('error', 'apply-failed', { source, message: res.error?.message });
    return res;
  }

  /**
   * A health change touches only the real servers whose health state changed (spec §7.2), so runtime
   * changes made with tsvsadm or REST (a drain, an extra service) are left alone. One batch per
   * service: an operator's conflicting change to one service does not block the others.
   */
  private applyHealth(): void {
    const eff = this.health.effective(this.configServices);
    for (const ops of diffDestsOnly(this.lastEffective, eff)) {
      const res = this.director.applyOps(ops, { source: 'health' });
      if (!res.ok) this.log.log('warn', 'health-apply-failed', { message: res.error?.message });
    }
    this.lastEffective = eff;
  }

  private tick(): void {
    this.ipvs.tick();
    this.estimator.tick();
    this.director.table.expireTrash();
  }
}

/** Loads the configured source; 'none' is an empty config (a fresh kernel: no services). */
export function loadConfig(src: ConfigSource): Config {
  if (src.kind === 'file') return loadConfigFile(src.path);
  if (src.kind === 'text') return loadConfigText(src.text, src.name);
  return loadConfigText('', '(none)');
}

/** The default config source: /etc/tsvs/tsvs.yaml when present, else none. */
export function defaultConfigSource(): ConfigSource {
  return existsSync(DEFAULT_CONFIG_PATH) ? { kind: 'file', path: DEFAULT_CONFIG_PATH } : { kind: 'none' };
}

/** The config's sysctls that the engine's connection layer implements (the rest are sync/estimator settings). */
function engineSysctls(cfg: Config): Partial<Sysctls> {
  const out: Record<string, number> = {};
  for (const name of SYSCTL_NAMES) {
    const v = (cfg.sysctl as Record<string, unknown>)[name];
    if (typeof v === 'number') out[name] = v;
  }
  return out as Partial<Sysctls>;
}

export { ConfigError };
