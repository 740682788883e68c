// The table of virtual services and their destinations (the kernel's ip_vs_ctl.c state):
// add/edit/delete with the kernel's validation (errno codes, spec §1, §5.2), destination order
// newest first, the trash for deleted destinations (spec §2.4), and service lookup in the
// kernel's order: fwmark, exact, FTP rule, port 0 (spec §2.6).
import type { Clock } from '../clock.js';
import { TsvsError } from '../errors.js';
import { type IpAddress, formatEndpoint } from '../net/addr.js';
import type { SchedulerEnv, SchedulerRegistry } from '../sched/scheduler.js';
import { StatsCounters } from '../stats/counters.js';
import { Destination } from './destination.js';
import { addrServiceKey, describeServiceKey, destKeyString, fwmarkServiceKey, serviceKeyString, v4ServiceKey } from './keys.js';
import {
  type DestConfig, type Protocol, type ServiceConfig, type ServiceKey,
  DEST_F_AVAILABLE, PROTOCOLS, serviceFamily,
} from './types.js';
import { VirtualService } from './virtual-service.js';

/** IP_VS_DEST_TRASH_PERIOD: how long an unreferenced deleted destination is kept (spec §2.4). */
export const DEST_TRASH_PERIOD_MS = 120_000;
/** FTP control and data ports, for the FTP lookup rule (spec §2.6). */
const FTPPORT = 21;
const FTPDATA = 20;
/** Ports below this need privileges (net.ipv4.ip_unprivileged_port_start default). */
const PROT_SOCK = 1024;
const KNOWN_PES = new Set(['sip']);

export interface ServiceTableOptions {
  readonly registry: SchedulerRegistry;
  readonly env: SchedulerEnv;
}

export class ServiceTable {
  private readonly byKey = new Map<string, VirtualService>();
  /** IPv4 address services by a numeric key (no string building on the packet path). */
  private readonly byV4 = new Map<number, VirtualService>();
  private readonly destIndex = new Map<number, Destination>();
  private readonly trash: Destination[] = [];
  private nextDestId = 1;
  private nextServiceId = 1;
  private ftpServices = 0;
  private nullPortServices = 0;
  /** Totals over every service (the kernel's tot_stats). */
  readonly totals = new StatsCounters();
  /** Bumped on every change; lets data planes cache derived state. */
  generation = 0;

  constructor(private readonly opts: ServiceTableOptions) {}

  get clock(): Clock {
    return this.opts.env.clock;
  }

  /** Services in insertion order (ipvsadm sorts for display unless --nosort). */
  services(): VirtualService[] {
    return [...this.byKey.values()];
  }

  getService(key: ServiceKey): VirtualService | undefined {
    return this.byKey.get(serviceKeyString(key));
  }

  /** A destination by id, live or in the trash. */
  destById(id: number): Destination | undefined {
    return this.destIndex.get(id);
  }

  /** Destinations that were deleted but are still referenced (or recently deleted). */
  trashed(): readonly Destination[] {
    return this.trash;
  }

  /** -A: adds a service. Throws TsvsError EEXIST, ENOENT (scheduler/pe), EINVAL. */
  addService(cfg: ServiceConfig): VirtualService {
    this.validateService(cfg);
    const k = serviceKeyString(cfg.key);
    if (this.byKey.has(k)) throw new TsvsError('EEXIST', `Cannot add service ${describeServiceKey(cfg.key)} as it already exists`);
    const svc = new VirtualService(this.nextServiceId++, cfg);
    svc.sched = this.createScheduler(svc, cfg.scheduler);
    this.byKey.set(k, svc);
    if (cfg.key.kind === 'addr' && cfg.key.addr.family === 4) this.byV4.set(v4ServiceKey(cfg.key.protocol, cfg.key.addr.bytes, cfg.key.port), svc);
    if (cfg.key.kind === 'addr' && cfg.key.port === FTPPORT) this.ftpServices++;
    if (cfg.key.kind === 'addr' && cfg.key.port === 0) this.nullPortServices++;
    this.generation++;
    return svc;
  }

  /** -E: replaces a service's settings (a full replace, spec §5.2). Throws ESRCH, ENOENT, EINVAL. */
  editService(cfg: ServiceConfig): VirtualService {
    this.validateService(cfg);
    const svc = this.byKey.get(serviceKeyString(cfg.key));
    if (!svc) throw new TsvsError('ESRCH', `Cannot edit service ${describeServiceKey(cfg.key)} as it does not exist`);
    if (svc.scheduler !== cfg.scheduler) {
      // Build the new scheduler before letting the old one go: if creation fails (mh with more
      // destinations than slots: EINVAL), the service keeps its working scheduler.
      const factory = this.createSchedulerChecked(cfg.scheduler);
      const sched = factory ? factory.create(svc, this.opts.env) : undefined;
      svc.sched?.dispose?.();
      svc.scheduler = cfg.scheduler;
      svc.sched = sched;
    }
    svc.flags = cfg.flags;
    svc.timeoutS = cfg.timeoutS;
    svc.netmask = cfg.netmask;
    svc.pe = cfg.pe;
    this.generation++;
    return svc;
  }

  /** -D: deletes a service and its destinations (they go to the trash while referenced). */
  deleteService(key: ServiceKey): void {
    const k = serviceKeyString(key);
    const svc = this.byKey.get(k);
    if (!svc) throw new TsvsError('ESRCH', `Cannot delete service ${describeServiceKey(key)} as it does not exist`);
    while (svc.destinations.length > 0) this.unlinkDest(svc, 0, false);
    svc.sched?.dispose?.();
    svc.sched = undefined;
    this.byKey.delete(k);
    if (key.kind === 'addr' && key.addr.family === 4) this.byV4.delete(v4ServiceKey(key.protocol, key.addr.bytes, key.port));
    if (key.kind === 'addr' && key.port === FTPPORT) this.ftpServices--;
    if (key.kind === 'addr' && key.port === 0) this.nullPortServices--;
    this.generation++;
  }

  /** -C: deletes every service. */
  flush(): void {
    for (const svc of this.services()) this.deleteService(svc.key);
  }

  /** -a: adds a destination (newest first). Throws ESRCH, EEXIST, ERANGE, EINVAL, EAFNOSUPPORT. */
  addDest(key: ServiceKey, cfg: DestConfig): Destination {
    const svc = this.requireServiceForDest(key, 'add');
    this.validateDest(svc, cfg);
    if (this.findDest(svc, cfg.addr, cfg.port)) {
      throw new TsvsError('EEXIST', `Cannot add real server ${formatEndpoint(cfg.addr, cfg.port)} to ${describeServiceKey(key)} as it already exists`);
    }
    let dest = this.reviveFromTrash(svc, cfg);
    if (dest) dest.apply(cfg, true);
    else {
      dest = new Destination(this.nextDestId++, svc, cfg);
      this.destIndex.set(dest.id, dest);
    }
    svc.destinations.unshift(dest);
    svc.sched?.onDestChange?.(svc, { kind: 'add', dest, index: 0 });
    this.generation++;
    return dest;
  }

  /** -e: replaces a destination's settings. Throws ESRCH, ENOENT, ERANGE, EINVAL. */
  editDest(key: ServiceKey, cfg: DestConfig): Destination {
    const svc = this.requireServiceForDest(key, 'edit');
    this.validateDest(svc, cfg);
    const dest = this.findDest(svc, cfg.addr, cfg.port);
    if (!dest) throw new TsvsError('ENOENT', `Cannot edit real server ${formatEndpoint(cfg.addr, cfg.port)} of ${describeServiceKey(key)} as it does not exist`);
    dest.apply(cfg, false);
    svc.sched?.onDestChange?.(svc, { kind: 'upd', dest, index: svc.destinations.indexOf(dest) });
    this.generation++;
    return dest;
  }

  /** -d: deletes a destination; it moves to the trash while connections still point to it. */
  deleteDest(key: ServiceKey, addr: IpAddress, port: number): void {
    const svc = this.requireServiceForDest(key, 'delete');
    const dest = this.findDest(svc, addr, port);
    if (!dest) throw new TsvsError('ENOENT', `Cannot delete real server ${formatEndpoint(addr, port)} of ${describeServiceKey(key)} as it does not exist`);
    this.unlinkDest(svc, svc.destinations.indexOf(dest), true);
    this.generation++;
  }

  findDest(svc: VirtualService, addr: IpAddress, port: number): Destination | undefined {
    const k = destKeyString(addr, port);
    return svc.destinations.find((d) => destKeyString(d.addr, d.port) === k);
  }

  /**
   * The service a packet belongs to, in the kernel's order (ip_vs_service_find, spec §2.6):
   * fwmark service (when the packet has a mark), exact (proto, vip, vport), the FTP service for
   * TCP data connections, then the port-0 service.
   */
  lookup(protocol: Protocol, vaddr: IpAddress, vport: number, fwmark = 0): VirtualService | undefined {
    if (fwmark !== 0) {
      const svc = this.byKey.get(fwmarkServiceKey(vaddr.family, fwmark));
      if (svc) return svc;
    }
    let svc = this.exact(protocol, vaddr, vport);
    if (!svc && protocol === 'tcp' && this.ftpServices > 0 && (vport === FTPDATA || vport >= PROT_SOCK)) svc = this.exact(protocol, vaddr, FTPPORT);
    if (!svc && this.nullPortServices > 0) svc = this.exact(protocol, vaddr, 0);
    return svc;
  }

  private exact(protocol: Protocol, vaddr: IpAddress, port: number): VirtualService | undefined {
    return vaddr.family === 4 ? this.byV4.get(v4ServiceKey(protocol, vaddr.bytes, port)) : this.byKey.get(addrServiceKey(protocol, vaddr, port));
  }

  /**
   * Frees trashed destinations that nothing references any more and that have been in the trash
   * for at least the trash period (spec §2.4). Call periodically.
   */
  expireTrash(): void {
    const now = this.clock.nowMs();
    for (let i = this.trash.length - 1; i >= 0; i--) {
      const d = this.trash[i];
      const referenced = d.activeConns + d.inactConns + d.persistConns > 0;
      if (!referenced && now - d.trashedAtMs >= DEST_TRASH_PERIOD_MS) {
        this.trash.splice(i, 1);
        this.destIndex.delete(d.id);
      }
    }
  }

  private unlinkDest(svc: VirtualService, index: number, notify: boolean): void {
    const [dest] = svc.destinations.splice(index, 1);
    dest.flags &= ~DEST_F_AVAILABLE;
    dest.trashedAtMs = this.clock.nowMs();
    this.trash.push(dest);
    if (notify) svc.sched?.onDestChange?.(svc, { kind: 'del', dest, index });
  }

  private reviveFromTrash(svc: VirtualService, cfg: DestConfig): Destination | undefined {
    const k = destKeyString(cfg.addr, cfg.port);
    const i = this.trash.findIndex((d) => d.service === svc && destKeyString(d.addr, d.port) === k);
    if (i === -1) return undefined;
    const [dest] = this.trash.splice(i, 1);
    dest.trashedAtMs = -1;
    return dest;
  }

  private requireServiceForDest(key: ServiceKey, verb: string): VirtualService {
    const svc = this.byKey.get(serviceKeyString(key));
    if (!svc) throw new TsvsError('ESRCH', `Cannot ${verb} a real server of ${describeServiceKey(key)} as that service is not defined`);
    return svc;
  }

  private validateService(cfg: ServiceConfig): void {
    const key = cfg.key;
    if (key.kind === 'addr') {
      if (!PROTOCOLS.includes(key.protocol)) throw new TsvsError('EINVAL', `Unknown protocol '${String(key.protocol)}'`);
      if (!Number.isInteger(key.port) || key.port < 0 || key.port > 65535) throw new TsvsError('EINVAL', `Port must be 0..65535: current value is ${key.port}`);
    } else if (!Number.isInteger(key.fwmark) || key.fwmark < 1 || key.fwmark > 0xffffffff) {
      throw new TsvsError('EINVAL', `Firewall mark must be 1..4294967295: current value is ${key.fwmark}`);
    }
    if (serviceFamily(key) === 6 && (cfg.netmask < 1 || cfg.netmask > 128)) {
      throw new TsvsError('EINVAL', `IPv6 persistence prefix length must be 1..128: current value is ${cfg.netmask}`);
    }
    this.createSchedulerChecked(cfg.scheduler);
    if (cfg.pe !== undefined && !KNOWN_PES.has(cfg.pe)) throw new TsvsError('ENOENT', `Persistence engine '${cfg.pe}' not found`);
  }

  private validateDest(svc: VirtualService, cfg: DestConfig): void {
    if (!Number.isInteger(cfg.weight) || cfg.weight < 0 || cfg.weight > 65535) {
      throw new TsvsError('ERANGE', `Weight must be 0..65535: current value is ${cfg.weight}`);
    }
    if (cfg.uThreshold < 0 || cfg.lThreshold < 0) throw new TsvsError('ERANGE', 'Thresholds must be >= 0');
    if (cfg.lThreshold > cfg.uThreshold) {
      throw new TsvsError('ERANGE', `Lower threshold (${cfg.lThreshold}) is higher than upper threshold (${cfg.uThreshold})`);
    }
    if (!Number.isInteger(cfg.port) || cfg.port < 0 || cfg.port > 65535) throw new TsvsError('EINVAL', `Port must be 0..65535: current value is ${cfg.port}`);
    if (cfg.method === 'tunnel' && cfg.tunType === 'gue' && cfg.tunPort === 0) {
      throw new TsvsError('EINVAL', 'A GUE tunnel needs a non-zero tunnel port');
    }
    if (cfg.addr.family !== svc.family && cfg.method !== 'tunnel') {
      throw new TsvsError('EAFNOSUPPORT', 'A real server of another address family than its service needs tunnel forwarding');
    }
  }

  private createSchedulerChecked(name: string) {
    if (name === 'none') return undefined;
    const f = this.opts.registry.get(name);
    if (!f) throw new TsvsError('ENOENT', `Scheduler '${name}' not found (known: ${this.opts.registry.names().join(', ')}, none)`);
    return f;
  }

  private createScheduler(svc: VirtualService, name: string) {
    const f = this.createSchedulerChecked(name);
    return f ? f.create(svc, this.opts.env) : undefined;
  }
}

