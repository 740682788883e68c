// A ProxyEngine over the service table alone: schedulers, destination counters and stats, without
// a connection table (so no persistence templates and no `-c` listing). It is what the proxy
// falls back to when no connection layer is plugged in, and what the socket tests use to check
// the mechanics independently of the connection layer. ipvs-engine.ts is the full engine.
import { type IpAddress, parseIp } from '../../core/net/addr.js';
import type { FlowInfo } from '../../core/sched/scheduler.js';
import { type Destination, withExcluded } from '../../core/service/destination.js';
import type { ServiceTable } from '../../core/service/service-table.js';
import type { Protocol } from '../../core/service/types.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import { formatIp } from '../../core/net/addr.js';
import type { EngineConn, FlowAddrs, ProxyEngine, RefuseReason } from './engine.js';

/** Timeouts in seconds (ipvsadm --set: tcp, tcpfin, udp; spec §2.5, §2.6). */
export interface ProxyTimeouts {
  tcp: number;
  tcpfin: number;
  udp: number;
}

/** Picks a destination with `svc`'s scheduler, skipping the destinations in `exclude` (withExcluded). */
function scheduleExcluding(svc: VirtualService, flow: FlowInfo, exclude: readonly Destination[] | undefined): Destination | undefined {
  const sched = svc.sched;
  if (!sched) return undefined;
  if (!exclude || exclude.length === 0) return sched.schedule(svc, flow);
  return withExcluded(exclude, () => sched.schedule(svc, flow));
}

class TableConn implements EngineConn {
  readonly destHost: string;
  readonly destPort: number;
  private kind: 'active' | 'inactive';
  private bound = true;

  constructor(
    private readonly engine: TableEngine,
    private readonly svc: VirtualService,
    readonly dest: Destination,
    private readonly protocol: Protocol,
    private readonly flow: FlowInfo,
    private readonly failed: Destination[],
  ) {
    this.destHost = formatIp(dest.addr);
    this.destPort = dest.port || flow.dstPort;
    // TCP: the SYN puts the conn in SYN_RECV, which counts as active; UDP conns stay inactive (spec §2.4–§2.6).
    this.kind = protocol === 'tcp' ? 'active' : 'inactive';
    dest.bindConn(this.kind);
    dest.stats.conns++; svc.stats.conns++; engine.table.totals.conns++;
  }

  get alive(): boolean {
    return this.bound;
  }

  established(): void {
    this.inData(0);
  }

  inData(bytes: number, packets = 1): void {
    if (!this.dest.isAvailable) return;
    const d = this.dest.stats; const s = this.svc.stats; const t = this.engine.table.totals;
    d.inPkts += packets; d.inBytes += bytes; s.inPkts += packets; s.inBytes += bytes; t.inPkts += packets; t.inBytes += bytes;
  }

  outData(bytes: number, packets = 1): void {
    if (!this.dest.isAvailable) return;
    const d = this.dest.stats; const s = this.svc.stats; const t = this.engine.table.totals;
    d.outPkts += packets; d.outBytes += bytes; s.outPkts += packets; s.outBytes += bytes; t.outPkts += packets; t.outBytes += bytes;
  }

  clientFin(): void {
    this.inData(0);
    this.toInactive();
  }

  serverFin(): void {
    this.outData(0);
    this.toInactive();
  }

  reset(): void {
    this.toInactive();
  }

  closed(): void {
    if (!this.bound) return;
    this.bound = false;
    this.dest.unbindConn(this.kind);
  }

  retry(): EngineConn | undefined {
    this.reset();
    this.closed();
    this.failed.push(this.dest);
    const next = scheduleExcluding(this.svc, this.flow, this.failed);
    return next ? new TableConn(this.engine, this.svc, next, this.protocol, this.flow, this.failed) : undefined;
  }

  private toInactive(): void {
    if (this.bound && this.kind === 'active') {
      this.dest.moveConn('active', 'inactive');
      this.kind = 'inactive';
    }
  }
}

/** A ProxyEngine backed by the service table only. */
export class TableEngine implements ProxyEngine {
  timeouts: ProxyTimeouts = { tcp: 900, tcpfin: 120, udp: 300 };
  expireNodest = false;

  constructor(readonly table: ServiceTable) {}

  open(svc: VirtualService, protocol: Protocol, f: FlowAddrs, length: number): EngineConn | RefuseReason {
    const srcAddr = f.clientAddr ?? parseIp(f.clientIp);
    const dstAddr = parseIp(f.vip);
    if (!srcAddr || !dstAddr) return 'drop';
    const flow: FlowInfo = { protocol, srcAddr, srcPort: f.clientPort, dstAddr: dstAddr as IpAddress, dstPort: f.vport };
    const dest = scheduleExcluding(svc, flow, undefined);
    if (!dest) return 'no-dest';
    const c = new TableConn(this, svc, dest, protocol, flow, []);
    if (protocol !== 'tcp') c.inData(length);
    return c;
  }

  tcpIdleMs(halfClosed: boolean): number {
    return (halfClosed ? this.timeouts.tcpfin : this.timeouts.tcp) * 1000;
  }

  udpIdleMs(): number {
    return this.timeouts.udp * 1000;
  }

  expireNodestConn(): boolean {
    return this.expireNodest;
  }

  tick(): void {
    this.table.expireTrash();
  }
}
