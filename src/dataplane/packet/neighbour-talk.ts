// What a worker says on the wire on its own, as opposed to what it forwards: gratuitous ARP /
// unsolicited neighbour advertisements for the VIPs (a few rounds, one second apart, after start
// and after every VIP change, so switches and neighbours learn the director at once), and the
// ARP requests / neighbour solicitations that next-hop misses asked for. Runs on the forwarder's
// 100 ms tick, never per packet.
import type { IpAddress } from '../../core/net/addr.js';
import { NEIGH_FRAME_MAX, buildAnnouncement, buildArpRequest, buildNeighbourSolicitation } from './arp.js';
import type { NeighbourCache } from './neighbour.js';
import type { LinuxNetContext } from './net-context.js';
import type { IoCounters, WorkerInit } from './worker-protocol.js';

/** Where the worker's own frames go: `build(u8, off)` fills a staging slot and returns the frame length. */
export interface FrameEmitter {
  emit(ifIndex: number, build: (u8: Uint8Array, off: number) => number): void;
  /** Sends what emit() queued. */
  flush(): void;
}

export class NeighbourTalk {
  private announceLeft = 0;
  private nextAnnounceMs = 0;

  constructor(
    private readonly init: Pick<WorkerInit, 'index' | 'announceRounds' | 'announceIfIndexes'>,
    private readonly net: LinuxNetContext,
    private readonly neighbours: NeighbourCache,
    private readonly out: FrameEmitter,
    private readonly io: IoCounters,
  ) {}

  /** Starts (or restarts) the announcement rounds; the first one goes out on the next tick. */
  startAnnouncing(now: number): void {
    // One announcer is enough: the other replicas answer requests but stay quiet.
    if (this.init.index !== 0) return;
    this.announceLeft = this.init.announceRounds;
    this.nextAnnounceMs = now;
  }

  /** The tick's share: a due announcement round for `vips`, then the pending resolutions. */
  tick(now: number, vips: readonly IpAddress[]): void {
    if (this.announceLeft > 0 && now >= this.nextAnnounceMs) {
      this.announceLeft--;
      this.nextAnnounceMs = now + 1000;
      this.announce(vips);
    }
    this.resolve();
  }

  /** Gratuitous ARP / unsolicited NA for every VIP on every announcing interface. */
  private announce(vips: readonly IpAddress[]): void {
    for (const ifIndex of this.init.announceIfIndexes) {
      const mac = this.net.interface(ifIndex)?.mac;
      if (!mac) continue;
      for (const vip of vips) {
        this.out.emit(ifIndex, (u8, o) => buildAnnouncement(u8, o, NEIGH_FRAME_MAX, mac, vip));
        this.io.announcements++;
      }
    }
    this.out.flush();
  }

  /** Sends the ARP requests / neighbour solicitations nextHop() misses asked for. */
  private resolve(): void {
    const reqs = this.neighbours.drain();
    for (const r of reqs) {
      const itf = this.net.interface(r.ifIndex);
      if (!itf) continue;
      // IPv6: from the link-local address, or (while it is in DAD) any other of the interface's.
      const of = (scope: (s: string) => boolean) => itf.addrs.find((a) => a.addr.family === r.addr.family && scope(a.scope))?.addr;
      const src = (r.addr.family === 6 ? of((s) => s === 'link') : undefined) ?? of((s) => s !== 'host');
      if (!src) continue;
      this.out.emit(r.ifIndex, (u8, o) => (r.addr.family === 4
        ? buildArpRequest(u8, o, itf.mac, src.bytes, r.addr.bytes)
        : buildNeighbourSolicitation(u8, o, itf.mac, src.bytes, r.addr.bytes)));
      this.io.neighRequests++;
    }
    this.out.flush();
  }
}
