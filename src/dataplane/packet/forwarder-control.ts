// The cold side of a worker's forwarder (never per packet): messages from the main thread (table
// ops, network facts, sysctls, VIPs, shared neighbours, snapshot and listing requests), the VIP
// set those imply, and the worker's report. forwarder.ts keeps the rings and the frame path.
import type { IpAddress } from '../../core/net/addr.js';
import { NeighbourResponder, VipSet } from './arp.js';
import { steeringProgram } from './fanout.js';
import type { NeighbourTalk } from './neighbour-talk.js';
import type { NeighbourCache } from './neighbour.js';
import type { LinuxNetContext } from './net-context.js';
import type { FlowOffloader } from './offload.js';
import { ServiceModel } from './service-model.js';
import type { FromWorker, IoCounters, PacketEngine, ToWorker, WorkerInit, WorkerSnapshot } from './worker-protocol.js';

/** What the control side reaches in the forwarder. */
export interface ForwarderParts {
  readonly init: WorkerInit;
  readonly engine: PacketEngine;
  readonly net: LinuxNetContext;
  readonly neighbours: NeighbourCache;
  readonly post: (m: FromWorker) => void;
  readonly io: IoCounters;
  readonly offloader: FlowOffloader | undefined;
  readonly talk: NeighbourTalk;
  /** Interface facts changed (MTUs). */
  onNetChanged(): void;
  /** Adds the rings' counters to io (before a report). */
  collectIo(): void;
  /** Gives the rings' fanout groups a new program (several workers only). */
  steer(program: Uint8Array): void;
}

export class ForwarderControl {
  private readonly model = new ServiceModel();
  private extraVips: readonly IpAddress[];
  private current: VipSet;
  /** Set while a neighbour learnt by another worker is applied, so it is not echoed back. */
  private applyingShared = false;
  /** Answers ARP/NDP for the VIPs (the forwarder shows it every frame first). */
  readonly responder: NeighbourResponder;
  /** The fanout groups' program for the current VIPs (several workers; fanout.ts). */
  steering: Uint8Array | undefined;

  constructor(private readonly p: ForwarderParts) {
    this.model.apply(p.init.ops);
    this.extraVips = p.init.extraVips;
    this.current = this.vipSet();
    this.responder = new NeighbourResponder(this.current, p.neighbours, (i) => p.net.interface(i)?.mac);
    this.steering = this.steeringFor(this.current);
    if (p.init.count > 1) {
      p.neighbours.onLearn = (n) => {
        if (!this.applyingShared) p.post({ type: 'neighbour', index: p.init.index, addr: n.addr, ifIndex: n.ifIndex, mac: n.mac });
      };
    }
  }

  /** The VIPs this worker answers ARP/NDP for: every service's, plus the configured extra ones. */
  get vips(): VipSet {
    return this.current;
  }

  onMessage(m: ToWorker): void {
    const { engine, post } = this.p;
    switch (m.type) {
      case 'ops': {
        let result;
        try {
          result = engine.applyOps(m.ops);
        } catch (e) {
          result = { ok: false, error: (e as Error).message };
        }
        if (result.ok) {
          this.model.apply(m.ops);
          this.updateVips();
          // A deleted destination must not keep its fast-path flows until their next sync.
          this.p.offloader?.revalidate();
        }
        post({ type: 'ops-result', seq: m.seq, result });
        return;
      }
      case 'facts':
        this.p.net.update(m.facts, performance.now());
        this.p.onNetChanged();
        engine.netChanged();
        return;
      case 'sysctls':
        engine.setSysctls(m.values);
        return;
      case 'extra-vips':
        this.extraVips = m.vips;
        this.updateVips();
        return;
      case 'announce':
        this.p.talk.startAnnouncing(performance.now());
        return;
      case 'neighbour':
        this.applyingShared = true;
        this.p.neighbours.learn(m.addr, m.ifIndex, m.mac, performance.now(), true);
        this.applyingShared = false;
        return;
      case 'snapshot':
        post({ type: 'snapshot', seq: m.seq, snapshot: this.snapshot() });
        return;
      case 'connections':
        post({ type: 'connections', seq: m.seq, page: engine.connections(m.offset, m.limit) });
        return;
    }
  }

  /** The worker's report (reads the rings' PACKET_STATISTICS, which resets them). */
  snapshot(): WorkerSnapshot {
    const { io, offloader } = this.p;
    if (offloader) {
      const o = offloader.counters;
      Object.assign(io, {
        offloadInstalled: o.installed, offloadInstalledToPeer: o.installedToPeer, offloadRemoved: o.removed, offloadFull: o.full, offloadFailed: o.failed,
        offloadPackets: o.packets, offloadActive: o.active,
      });
    }
    this.p.collectIo();
    const r = this.responder.counters;
    io.arpReplies = r.arpReplies;
    io.naReplies = r.naReplies;
    io.neighLearned = r.learned;
    io.neighLimited = this.p.neighbours.limited;
    let engine;
    try {
      engine = this.p.engine.snapshot();
    } catch {
      engine = { services: [], total: { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 }, drops: { 'snapshot-failed': 1 }, conns: 0 };
    }
    return { index: this.p.init.index, atMs: performance.now(), engine, io: { ...io }, neighbours: this.p.neighbours.size };
  }

  private vipSet(): VipSet {
    return new VipSet([...this.model.vips(), ...this.extraVips]);
  }

  private updateVips(): void {
    const next = this.vipSet();
    if (next.key() === this.current.key()) return;
    this.current = next;
    this.responder.setVips(next);
    // Every worker applies the same ops and so builds the same program: any of them may swap it
    // in (one that lags a message behind reinstalls the previous program until it catches up).
    this.steering = this.steeringFor(next);
    if (this.steering) this.p.steer(this.steering);
    this.p.talk.startAnnouncing(performance.now());
  }

  /** The fanout program for these VIPs, when there is a fanout. */
  private steeringFor(vips: VipSet): Uint8Array | undefined {
    const f = this.p.init.fanout;
    if (!f) return undefined;
    const s = steeringProgram({ vips: vips.list, fullnatAddresses: f.fullnatAddresses, fullnatPorts: f.fullnatPorts });
    if (!s.complete) {
      console.error(`tsvs packet worker ${this.p.init.index}: too many VIPs for the fanout program: steering by client source only, so masq and full-NAT replies may reach a worker without their connection (use 1 worker)`);
    }
    return s.program;
  }
}
