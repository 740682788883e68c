// The simulation behind `tsvs simulate`: a director (service table + the engine's connection layer)
// on a virtual clock, fed with events. It uses the same code the data planes use, so schedulers,
// persistence templates, connection states and timeouts behave as in the kernel.
import { ManualClock } from '../../core/clock.js';
import { Ipvs, type PacketMeta } from '../../core/conn/ipvs.js';
import { formatEndpoint, type Endpoint } from '../../core/net/addr.js';
import { SeededRandom } from '../../core/random.js';
import { registerBuiltinSchedulers } from '../../core/sched/builtin.js';
import { MH_DEFAULT_TABLE_SIZE, SchedulerRegistry, type SchedulerEnv } from '../../core/sched/scheduler.js';
import { describeServiceKey } from '../../core/service/keys.js';
import type { Protocol } from '../../core/service/types.js';
import { Director, type ConnSource } from '../../control/director.js';
import type { TableOp } from '../../control/director-api.js';
import { ipvsConnSource } from '../../control/ipvs-conn-source.js';
import { InputError, type SimEvent } from './events.js';

/** TCP flag bits. */
const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;

export interface SimOptions {
  readonly mhTableSize?: number;
  readonly seed?: number;
}

/** One `open` and where it went. */
export interface OpenResult {
  readonly line: number;
  readonly t: number;
  readonly protocol: Protocol;
  readonly client: Endpoint;
  readonly vip: Endpoint;
  readonly fwmark: number;
  /** "ip:port" of the chosen real server, or "-" when none was available. */
  readonly dest: string;
  /** The service that matched, as ipvsadm names it, or undefined when none did. */
  readonly service?: string;
  /** Why there is no destination: "no-service", "no-dest" or a drop reason. */
  readonly why?: string;
}

/** A rule line to apply, with where it came from. */
export interface RuleOps {
  readonly file: string;
  readonly line: number;
  readonly ops: TableOp[];
}

export class Simulation {
  readonly clock = new ManualClock(0);
  readonly director: Director;
  readonly ipvs: Ipvs;
  private readonly meta: PacketMeta;

  constructor(opts: SimOptions = {}) {
    const registry = new SchedulerRegistry();
    registerBuiltinSchedulers(registry);
    const random = new SeededRandom(opts.seed ?? 1);
    const env: SchedulerEnv = {
      clock: this.clock, random, mhTableSize: opts.mhTableSize ?? MH_DEFAULT_TABLE_SIZE,
      lblcExpirationS: 86400, lblcrExpirationS: 86400,
    };
    this.director = new Director({ registry, env });
    this.ipvs = new Ipvs(this.director.table, { clock: this.clock, random });
    const source: ConnSource = ipvsConnSource(this.ipvs, this.director.table);
    this.director.setConnSource(source);
    this.meta = {
      protocol: 'tcp', saddr: { family: 4, bytes: new Uint8Array(4) }, sport: 0,
      daddr: { family: 4, bytes: new Uint8Array(4) }, dport: 0, tcpFlags: 0, sctpChunk: 0, fwmark: 0, length: 60,
    };
  }

  /** Applies rule operations; throws InputError naming the file and line of the first that fails. */
  applyRules(rules: readonly RuleOps[]): void {
    for (const r of rules) {
      const res = this.director.applyOps(r.ops, { source: `${r.file}:${r.line}` });
      if (!res.ok) throw new InputError(r.file, r.line, res.error?.message ?? 'rule rejected');
    }
  }

  /** Moves the virtual clock to `t` seconds in 1-second steps, so expiries happen in order. */
  advanceTo(tSeconds: number): void {
    const target = Math.round(tSeconds * 1000);
    while (this.clock.nowMs() < target) {
      this.clock.set(Math.min(target, (Math.floor(this.clock.nowMs() / 1000) + 1) * 1000));
      this.ipvs.tick();
    }
  }

  /** The first packet of a connection, as the kernel would count it (TCP SYN: SYN_RECV, active; UDP: inactive). */
  open(e: { line: number; t: number; protocol: Protocol; client: Endpoint; vip: Endpoint; fwmark: number }): OpenResult {
    const m = this.packet(e.protocol, e.client, e.vip, e.fwmark, e.protocol === 'tcp' ? SYN : 0, e.protocol === 'sctp' ? 1 : 0);
    const r = this.ipvs.inbound(m);
    const base = { line: e.line, t: e.t, protocol: e.protocol, client: e.client, vip: e.vip, fwmark: e.fwmark };
    const svc = this.director.table.lookup(e.protocol, e.vip.addr, e.vip.port, e.fwmark);
    const service = svc ? describeServiceKey(svc.key) : undefined;
    if (r.kind === 'forward') return { ...base, service, dest: formatEndpoint(r.dest.addr, this.destPort(r.dest.port, e.vip.port)) };
    if (r.kind === 'no-dest') return { ...base, service, dest: '-', why: 'no-dest' };
    if (r.kind === 'drop') return { ...base, service, dest: '-', why: r.reason };
    return { ...base, service, dest: '-', why: 'no-service' };
  }

  /** The client closes: TCP FIN+ACK through the kernel's close path; UDP has no close (its entry times out). */
  close(e: { protocol: Protocol; client: Endpoint; vip: Endpoint; fwmark: number }): void {
    if (e.protocol === 'udp') return;
    this.ipvs.inbound(this.packet(e.protocol, e.client, e.vip, e.fwmark, e.protocol === 'tcp' ? FIN | ACK : 0, e.protocol === 'sctp' ? 7 : 0));
  }

  /** Runs events in order; `applyRule` turns a rule event into operations (or throws InputError). */
  run(events: readonly SimEvent[], file: string, applyRule: (argv: string[], line: number) => TableOp[]): OpenResult[] {
    const out: OpenResult[] = [];
    for (const e of events) {
      this.advanceTo(e.t);
      if (e.kind === 'rule') this.applyRules([{ file, line: e.line, ops: applyRule(e.argv, e.line) }]);
      else if (e.kind === 'open') out.push(this.open(e));
      else this.close(e);
    }
    return out;
  }

  /** DR/TUN destinations configured with port 0 keep the VIP port; show what the packet would carry. */
  private destPort(port: number, vport: number): number {
    return port === 0 ? vport : port;
  }

  private packet(protocol: Protocol, client: Endpoint, vip: Endpoint, fwmark: number, tcpFlags: number, sctpChunk: number): PacketMeta {
    const m = this.meta;
    m.protocol = protocol;
    m.saddr = client.addr; m.sport = client.port;
    m.daddr = vip.addr; m.dport = vip.port;
    m.tcpFlags = tcpFlags; m.sctpChunk = sctpChunk; m.fwmark = fwmark;
    return m;
  }
}
