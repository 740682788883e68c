// The proxy data plane: one listener per TCP/UDP virtual service, kept in step with the service
// table. The control plane changes the table through its one apply path, then calls
// reconcile(): new services get listeners, services whose bind address changed move, removed
// services stop accepting (their connections drain), unchanged services keep their listeners and
// connections untouched. Weight 0 drains by itself (schedulers skip such destinations, spec §1);
// a removed destination's connections are closed only when expire_nodest_conn=1 (spec §2.9).
import { formatIp, parseIp } from '../../core/net/addr.js';
import type { Destination } from '../../core/service/destination.js';
import { serviceKeyString } from '../../core/service/keys.js';
import type { ServiceTable } from '../../core/service/service-table.js';
import type { Protocol } from '../../core/service/types.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import { type Cidr } from './cidr.js';
import type { ProxyEngine } from './engine.js';
import type { ProxyProtocolVersion } from './proxy-protocol.js';
import { NativeLoop } from './native/loop.js';
import { NativeTcpListener } from './native/native-tcp.js';
import { NativeUdpIo } from './native/native-udp.js';
import { type SockSys, openSockSys } from './native/sys.js';
import { TcpListener } from './tcp-proxy.js';
import { type CoarseClock, TcpProxyCounters, type TcpServiceListener, type TcpServiceOptions } from './tcp-service.js';
import { UdpSocketBudget, defaultUdpSocketLimit } from './udp-budget.js';
import type { UdpIo } from './udp-io.js';
import { NODE_UDP_IO } from './udp-node-io.js';
import { UdpListener } from './udp-proxy.js';
import { UdpProxyCounters, type UdpServiceOptions } from './udp-service.js';

/** Where a service listens when it is not its VIP:port (fwmark services need one). */
export interface BindAddress {
  readonly host: string;
  readonly port: number;
  /** Protocol of the listener (fwmark services have none of their own); defaults to the service's. */
  readonly protocol?: 'tcp' | 'udp';
}

/** Per-service proxy settings (all optional; defaults in DEFAULT_SERVICE_OPTIONS). */
export interface ServiceProxySettings {
  readonly bind?: BindAddress;
  readonly connectTimeoutMs?: number;
  readonly retries?: number;
  readonly acceptProxyFrom?: readonly Cidr[];
  readonly proxyHeaderTimeoutMs?: number;
}

/** Defaults of the per-service settings. */
export const DEFAULT_SERVICE_OPTIONS = {
  connectTimeoutMs: 5000,
  retries: 2,
  proxyHeaderTimeoutMs: 3000,
} as const;

export interface ProxyPlaneOptions {
  readonly table: ServiceTable;
  readonly engine: ProxyEngine;
  /** Settings of a service (bind address, connect timeout, retries, trusted PROXY upstreams). */
  readonly serviceSettings?: (svc: VirtualService) => ServiceProxySettings | undefined;
  /** PROXY protocol version a real server wants (0 = none). */
  readonly proxyProtocolFor?: (svc: VirtualService, dest: Destination) => ProxyProtocolVersion;
  /** How often deadlines and idle timeouts are checked (ms). */
  readonly sweepIntervalMs?: number;
  /** Transition-only messages (listener up/down/failed). */
  readonly log?: (msg: string) => void;
  /**
   * Which sockets carry TCP: 'native' (raw descriptors on Node's loop, docs/adr/0004-native-tcp-io.md)
   * or 'node' (net.Socket). 'auto' (default) is native where available. A bind host that is
   * not an IP address always uses Node sockets.
   */
  readonly tcpIo?: SocketIo;
  /** Which sockets carry UDP: the same choices as tcpIo (native: udp-io.ts, native/native-udp.ts). */
  readonly udpIo?: SocketIo;
  /**
   * Most upstream sockets the UDP sessions may hold at once; at the limit a new session takes one
   * from the service holding the most (its idlest session). Unset or 0: half the descriptor limit.
   */
  readonly maxUdpSockets?: number;
}

/** What the plane counts besides the engine: its own events, and the UDP socket budget. */
export interface ProxyPlaneCounters {
  readonly tcp: Readonly<TcpProxyCounters>;
  readonly udp: Readonly<UdpProxyCounters>;
  readonly udpSockets: { readonly used: number; readonly limit: number };
}

/** The I/O path setting of TCP (tcpIo) and UDP (udpIo): native descriptors or Node's sockets. */
export type SocketIo = 'auto' | 'native' | 'node';

/** The path `setting` (of the option `name`) resolves to here, and why native is not used when it is not. */
export function resolveSocketIo(setting: SocketIo = 'auto', name = 'tcpIo'): { io: 'native' | 'node'; reason?: string; sys?: SockSys } {
  if (setting === 'node') return { io: 'node' };
  const sys = openSockSys();
  if (typeof sys === 'string') {
    if (setting === 'native') throw new Error(`Cannot use ${name} 'native': ${sys}`);
    return { io: 'node', reason: sys };
  }
  return { io: 'native', sys };
}

/** What reconcile() did, and what a listener is doing. */
export interface ListenerStatus {
  readonly service: string;
  readonly protocol: 'tcp' | 'udp';
  readonly bind: string;
  readonly state: 'listening' | 'draining' | 'failed' | 'unsupported';
  readonly error?: string;
  readonly sessions: number;
}

type Listener = { kind: 'tcp'; l: TcpServiceListener } | { kind: 'udp'; l: UdpListener };

interface Entry {
  readonly key: string;
  readonly bindKey: string;
  listener: Listener | undefined;
  status: ListenerStatus;
}

/** The socket proxy data plane. */
export class ProxyPlane {
  private readonly entries = new Map<string, Entry>();
  private readonly draining = new Set<Listener>();
  private readonly failed = new Map<string, ListenerStatus>();
  /** Counters of every listener of the plane, past and present (totals never go back). */
  private readonly tcpCounters = new TcpProxyCounters();
  private readonly udpCounters = new UdpProxyCounters();
  readonly clock: CoarseClock = { now: performance.now() };
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private reconciling: Promise<ListenerStatus[]> = Promise.resolve([]);
  /** The TCP I/O path in use. */
  readonly tcpIo: 'native' | 'node';
  /** The native bindings when TCP uses them. */
  private readonly tcpSys: SockSys | undefined;
  /** The UDP sockets in use (a bind host that is not an IP address uses Node's). */
  private readonly udpIo: UdpIo;
  /** Upstream sockets of every UDP session of the plane (udp-budget.ts). */
  readonly udpSockets: UdpSocketBudget;

  constructor(private readonly opts: ProxyPlaneOptions) {
    const tcp = resolveSocketIo(opts.tcpIo);
    const udp = resolveSocketIo(opts.udpIo, 'udpIo');
    this.tcpIo = tcp.io;
    this.tcpSys = tcp.sys;
    this.udpSockets = new UdpSocketBudget(opts.maxUdpSockets || defaultUdpSocketLimit());
    this.udpIo = udp.sys ? NativeUdpIo.shared(udp.sys) : NODE_UDP_IO;
    const sys = tcp.sys ?? udp.sys;
    if (sys && opts.log) {
      const log = opts.log;
      NativeLoop.shared(sys).onHandlerError = (e) => log(`proxy: native socket handler failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    }
  }

  /** Opens listeners for every service in the table and starts the sweep. */
  async start(): Promise<ListenerStatus[]> {
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.opts.sweepIntervalMs ?? 250);
      this.timer.unref();
    }
    return this.reconcile();
  }

  /**
   * Brings the listeners in line with the table (call after every applied change). Serialised:
   * concurrent calls run one after the other. Resolves with the status of every listener.
   */
  reconcile(): Promise<ListenerStatus[]> {
    this.reconciling = this.reconciling.then(() => this.doReconcile(), () => this.doReconcile());
    return this.reconciling;
  }

  private async doReconcile(): Promise<ListenerStatus[]> {
    const seen = new Set<string>();
    const starts: Promise<void>[] = [];
    this.failed.clear();
    for (const svc of this.opts.table.services()) {
      const key = serviceKeyString(svc.key);
      const settings = this.opts.serviceSettings?.(svc) ?? {};
      const where = this.bindFor(svc, settings);
      if (typeof where === 'string') {
        this.failed.set(key, { service: key, protocol: 'tcp', bind: '-', state: 'unsupported', error: where, sessions: 0 });
        continue;
      }
      seen.add(key);
      const bindKey = `${where.protocol}|${where.host}|${where.port}`;
      const old = this.entries.get(key);
      if (old && old.bindKey === bindKey && old.listener) {
        this.update(old.listener, svc, settings);
        continue;
      }
      if (old) this.retire(old);
      const entry: Entry = {
        key, bindKey, listener: undefined,
        status: { service: key, protocol: where.protocol, bind: `${where.host}:${where.port}`, state: 'listening', sessions: 0 },
      };
      this.entries.set(key, entry);
      starts.push(this.open(entry, svc, where, settings));
    }
    for (const [key, e] of this.entries) {
      if (!seen.has(key)) { this.retire(e); this.entries.delete(key); }
    }
    await Promise.all(starts);
    this.expireNodest();
    return this.status();
  }

  private bindFor(svc: VirtualService, s: ServiceProxySettings): { protocol: 'tcp' | 'udp'; host: string; port: number } | string {
    const k = svc.key;
    const proto: Protocol | undefined = s.bind?.protocol ?? (k.kind === 'addr' ? k.protocol : undefined);
    if (proto !== 'tcp' && proto !== 'udp') return proto === undefined ? 'a fwmark service needs a bind address' : `the proxy plane does not carry ${proto}`;
    if (s.bind) return { protocol: proto, host: s.bind.host, port: s.bind.port };
    if (k.kind !== 'addr' || k.port === 0) return 'a port-0 service needs a bind address';
    return { protocol: proto, host: formatIp(k.addr), port: k.port };
  }

  private tcpOptions(svc: VirtualService, s: ServiceProxySettings): TcpServiceOptions {
    const pp = this.opts.proxyProtocolFor;
    return {
      connectTimeoutMs: s.connectTimeoutMs ?? DEFAULT_SERVICE_OPTIONS.connectTimeoutMs,
      retries: s.retries ?? DEFAULT_SERVICE_OPTIONS.retries,
      acceptProxyFrom: s.acceptProxyFrom ?? [],
      proxyHeaderTimeoutMs: s.proxyHeaderTimeoutMs ?? DEFAULT_SERVICE_OPTIONS.proxyHeaderTimeoutMs,
      proxyProtocolFor: pp ? (d) => pp(svc, d) : () => 0,
    };
  }

  private udpOptions(svc: VirtualService): UdpServiceOptions {
    const pp = this.opts.proxyProtocolFor;
    return { proxyProtocolFor: pp ? (d) => pp(svc, d) : () => 0 };
  }

  private async open(entry: Entry, svc: VirtualService, where: { protocol: 'tcp' | 'udp'; host: string; port: number }, s: ServiceProxySettings): Promise<void> {
    const vip = svc.key.kind === 'addr' ? formatIp(svc.key.addr) : where.host;
    const vport = svc.key.kind === 'addr' && svc.key.port !== 0 ? svc.key.port : where.port;
    const listener: Listener = where.protocol === 'tcp'
      ? { kind: 'tcp', l: this.tcpListener(svc, vip, vport, where.host, where.port, this.tcpOptions(svc, s)) }
      : { kind: 'udp', l: this.udpListener(svc, vip, vport, where.host, where.port) };
    try {
      await listener.l.listen();
      if (this.entries.get(entry.key) !== entry) { void this.closeListener(listener); return; }
      entry.listener = listener;
      this.opts.log?.(`proxy: ${entry.key} listening on ${entry.status.bind}`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      entry.status = { ...entry.status, state: 'failed', error: msg };
      this.opts.log?.(`proxy: ${entry.key} cannot listen on ${entry.status.bind}: ${msg}`);
    }
  }

  private tcpListener(svc: VirtualService, vip: string, vport: number, host: string, port: number, o: TcpServiceOptions): TcpServiceListener {
    // A bind host that is not an IP address (a name) goes through Node.
    if (this.tcpSys && parseIp(host)) {
      return new NativeTcpListener(this.tcpSys, svc, vip, vport, host, port, this.opts.engine, o, this.clock, this.tcpCounters);
    }
    return new TcpListener(svc, vip, vport, host, port, this.opts.engine, o, this.clock, this.tcpCounters);
  }

  private udpListener(svc: VirtualService, vip: string, vport: number, host: string, port: number): UdpListener {
    const io = parseIp(host) ? this.udpIo : NODE_UDP_IO;
    return new UdpListener(svc, vip, vport, host, port, this.opts.engine, this.udpOptions(svc), this.clock, this.udpSockets, this.udpCounters, io);
  }

  /** The UDP I/O path in use. */
  get udpIoKind(): 'native' | 'node' {
    return this.udpIo.kind;
  }

  private update(listener: Listener, svc: VirtualService, s: ServiceProxySettings): void {
    if (listener.kind === 'tcp') {
      listener.l.svc = svc;
      listener.l.opts = this.tcpOptions(svc, s);
    } else {
      listener.l.setService(svc);
      listener.l.opts = this.udpOptions(svc);
    }
  }

  /** A service went away or moved: stop accepting; TCP sessions drain, UDP sessions end. */
  private retire(e: Entry): void {
    const listener = e.listener;
    e.listener = undefined;
    if (!listener) return;
    this.opts.log?.(`proxy: ${e.key} stops listening on ${e.status.bind}`);
    if (listener.kind === 'tcp') {
      this.draining.add(listener);
      void listener.l.stopAccepting().then(() => listener.l.drained()).then(() => {
        this.draining.delete(listener);
      });
    } else {
      void listener.l.close();
    }
  }

  private closeListener(listener: Listener): Promise<void> {
    if (listener.kind === 'udp') return listener.l.close();
    return listener.l.stopAccepting();
  }

  /** expire_nodest_conn=1: close the connections of destinations that left their service (spec §2.9). */
  expireNodest(): number {
    if (!this.opts.engine.expireNodestConn()) return 0;
    const gone = (d: Destination) => !d.isAvailable;
    let tcp = 0, udp = 0;
    for (const l of this.allListeners()) {
      if (l.kind === 'tcp') tcp += l.l.abortWhere((s) => s.conn !== undefined && gone(s.conn.dest));
      else udp += l.l.abortWhere(gone);
    }
    this.tcpCounters.expiredNodest += tcp;
    this.udpCounters.expiredNodest += udp;
    return tcp + udp;
  }

  private *allListeners(): Generator<Listener> {
    for (const e of this.entries.values()) if (e.listener) yield e.listener;
    yield* this.draining;
  }

  private sweep(): void {
    const now = performance.now();
    this.clock.now = now;
    for (const l of this.allListeners()) l.l.sweep(now);
    if (now - this.lastTick >= 1000) {
      this.lastTick = now;
      this.opts.engine.tick();
    }
  }

  /** The state of every listener (and of services that cannot have one). */
  status(): ListenerStatus[] {
    const out: ListenerStatus[] = [];
    for (const e of this.entries.values()) {
      const sessions = e.listener ? (e.listener.l.sessionCount) : 0;
      out.push({ ...e.status, sessions });
    }
    for (const l of this.draining) {
      if (l.kind !== 'tcp') continue;
      out.push({ service: serviceKeyString(l.l.svc.key), protocol: 'tcp', bind: `${l.l.bindHost}:${l.l.bindPort}`, state: 'draining', sessions: l.l.sessionCount });
    }
    out.push(...this.failed.values());
    return out;
  }

  /** The listener of a service (tests, metrics). */
  listenerOf(svc: VirtualService): TcpServiceListener | UdpListener | undefined {
    return this.entries.get(serviceKeyString(svc.key))?.listener?.l;
  }

  /** A snapshot of the proxy counters of every listener the plane ever had, and the UDP sockets in use. */
  counters(): ProxyPlaneCounters {
    return { tcp: { ...this.tcpCounters }, udp: { ...this.udpCounters }, udpSockets: { used: this.udpSockets.used, limit: this.udpSockets.limit } };
  }

  /**
   * Stops listening, gives open TCP connections up to `graceMs` to finish, then resets what is
   * left and closes everything. The sweep stops last.
   */
  async stop(graceMs = 0): Promise<void> {
    await this.reconciling.catch(() => undefined);
    const all = [...this.allListeners()];
    this.entries.clear();
    await Promise.all(all.map((l) => this.closeListener(l)));
    const tcp = all.filter((l): l is { kind: 'tcp'; l: TcpServiceListener } => l.kind === 'tcp');
    if (graceMs > 0) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(tcp.map((l) => l.l.drained())),
        new Promise<void>((r) => { t = setTimeout(r, graceMs); }),
      ]);
      clearTimeout(t);
    }
    for (const l of tcp) l.l.abortWhere(() => true);
    await Promise.all(tcp.map((l) => l.l.drained()));
    this.draining.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
