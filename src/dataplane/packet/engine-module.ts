// The engine module the packet plane's workers load (docs/adr/0003-packet-plane.md, "Engine
// hosting"): one replica of the real engine per forwarding worker — a ServiceTable with the builtin
// schedulers, the connection layer (Ipvs) and the core Engine over the worker's NetContext. Table
// operations go through a Director of the worker's own, so they take the same one apply path as on
// the main thread (replayed on a scratch table, then applied whole, or rejected whole).
import { Director } from '../../control/director.js';
import type { TableOp } from '../../control/director-api.js';
import { ipvsConnSource, toConnView } from '../../control/ipvs-conn-source.js';
import { Ipvs } from '../../core/conn/ipvs.js';
import { SYSCTL_NAMES, type SysctlName } from '../../core/conn/sysctls.js';
import { Engine } from '../../core/engine.js';
import type { Verdict } from '../../core/engine-contract.js';
import { type IpAddress, parseIp } from '../../core/net/addr.js';
import { registerBuiltinSchedulers } from '../../core/sched/builtin.js';
import { MH_DEFAULT_TABLE_SIZE, SchedulerRegistry } from '../../core/sched/scheduler.js';
import type { ConnView } from '../../control/director-api.js';
import type { ConnPage, EngineInit, EngineSnapshot, OpsResult, PacketEngine, ServiceSnapshot } from './worker-protocol.js';

/** `engineOptions` this module understands (structured-clone data). */
export interface PacketEngineOptions {
  /** Full-NAT local endpoints: director addresses (text or IpAddress) and the port range. */
  readonly fullnat?: {
    readonly addresses: readonly (string | IpAddress)[];
    readonly portMin?: number;
    readonly portMax?: number;
  };
  readonly mhTableSize?: number;
  readonly lblcExpirationS?: number;
  readonly lblcrExpirationS?: number;
  /** Hard cap on connection entries (default the connection layer's, 2^20). */
  readonly maxConns?: number;
}

const SYSCTL_SET: ReadonlySet<string> = new Set(SYSCTL_NAMES);

/** Names under which `sysctls` carries the connection timeouts in seconds (ipvsadm --set; 0 = unchanged). */
export const TIMEOUT_SYSCTLS = { tcp: 'timeout_tcp', tcpfin: 'timeout_tcpfin', udp: 'timeout_udp' } as const;

function addr(a: string | IpAddress): IpAddress {
  if (typeof a !== 'string') return a;
  const p = parseIp(a);
  if (!p) throw new Error(`Cannot use full-NAT local address '${a}': not an IP address`);
  return p;
}

/** The engine replica one forwarding worker hosts. */
export class PacketEngineReplica implements PacketEngine {
  readonly director: Director;
  readonly ipvs: Ipvs;
  readonly engine: Engine;

  constructor(init: EngineInit) {
    const o = (init.options ?? {}) as PacketEngineOptions;
    const registry = new SchedulerRegistry();
    registerBuiltinSchedulers(registry);
    this.director = new Director({
      registry,
      env: {
        clock: init.clock, random: init.random, mhTableSize: o.mhTableSize ?? MH_DEFAULT_TABLE_SIZE,
        lblcExpirationS: o.lblcExpirationS ?? 86400, lblcrExpirationS: o.lblcrExpirationS ?? 86400,
      },
    });
    const fullnat = o.fullnat && o.fullnat.addresses.length > 0
      ? { addresses: o.fullnat.addresses.map(addr), portMin: o.fullnat.portMin, portMax: o.fullnat.portMax, share: init.worker }
      : undefined;
    this.ipvs = new Ipvs(this.director.table, { clock: init.clock, random: init.random, fullnatPool: fullnat, maxConns: o.maxConns });
    this.setSysctls(init.sysctls);
    this.director.setConnSource(ipvsConnSource(this.ipvs, this.director.table));
    const r = this.applyOps(init.ops);
    if (!r.ok) throw new Error(`Cannot build the engine's service table: ${r.error}`);
    this.engine = new Engine({ table: this.director.table, ipvs: this.ipvs, net: init.net });
  }

  process(frame: Uint8Array, length: number, ifIndex: number, v: Verdict): void {
    // The plane has already completed partial checksums and cut superframes (frame-fixup.ts).
    this.engine.process(frame, length, ifIndex, v);
  }

  offloadCredit(s: number, caddr: number, vaddr: number, cport: number, vport: number, proto: number, packets: number, bytes: number): boolean {
    return this.ipvs.offloadCredit(s, caddr, vaddr, cport, vport, proto, packets, bytes);
  }

  tick(): void {
    this.engine.tick();
  }

  /** All or nothing, as the main thread's Director (the same code). */
  applyOps(ops: readonly TableOp[]): OpsResult {
    const r = this.director.applyOps(ops, { source: 'packet-plane' });
    return r.ok ? { ok: true } : { ok: false, error: r.error?.message ?? 'rejected' };
  }

  /** IPVS sysctls and timeouts (TIMEOUT_SYSCTLS) by name; other names (settings the engine has not) are ignored. */
  setSysctls(values: Readonly<Record<string, number>>): void {
    for (const [k, v] of Object.entries(values)) {
      if (SYSCTL_SET.has(k) && typeof v === 'number') this.ipvs.setSysctl(k as SysctlName, v);
    }
    const t = { tcp: values[TIMEOUT_SYSCTLS.tcp] ?? 0, tcpfin: values[TIMEOUT_SYSCTLS.tcpfin] ?? 0, udp: values[TIMEOUT_SYSCTLS.udp] ?? 0 };
    if (t.tcp || t.tcpfin || t.udp) this.ipvs.setTimeouts(t);
  }

  netChanged(): void {
    this.engine?.refreshNet();
  }

  /** Raw (never zeroed) counters: the main thread keeps the zero points of `-Z`. */
  snapshot(): EngineSnapshot {
    const services: ServiceSnapshot[] = [];
    for (const svc of this.director.table.services()) {
      services.push({
        key: svc.key,
        stats: svc.stats.raw(),
        dests: svc.destinations.map((d) => ({
          addr: d.addr, port: d.port, stats: d.stats.raw(),
          activeConns: d.activeConns, inactConns: d.inactConns, persistConns: d.persistConns,
        })),
      });
    }
    const drops: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.ipvs.drops)) if (v > 0) drops[k] = v;
    for (const [k, v] of Object.entries(this.engine.counters.drops)) if (v > 0) drops[k] = (drops[k] ?? 0) + v;
    return { services, total: this.director.table.totals.raw(), drops, conns: this.ipvs.conns.count };
  }

  connections(offset: number, limit: number): ConnPage {
    const entries: ConnView[] = [];
    let i = 0;
    for (const e of this.ipvs.conns.entries()) {
      if (i >= offset) {
        if (entries.length >= limit) break;
        entries.push(toConnView(e));
      }
      i++;
    }
    return { total: this.ipvs.conns.count, entries };
  }
}

/** The entry the packet plane's worker calls (worker-protocol.ts EngineModule). */
export function createEngine(init: EngineInit): PacketEngine {
  return new PacketEngineReplica(init);
}
