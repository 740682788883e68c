// The bridge between a worker's engine and a kernel fast path (docs/adr/0005-xdp-fast-path.md):
// once the engine says a direct-routing conn is offloadable (Verdict.offloadable), its flow is
// installed in the fast path's table with what the engine just decided (out interface, next-hop
// MAC, our MAC, MTU), and the kernel forwards its later packets without copying them to us. Every
// sync, the packets the kernel forwarded are credited to the conn (stats, timer) through the
// engine; a conn that is gone, reused or no longer offloadable (FIN, RST, deleted destination)
// loses its entry, and its packets come back to the engine.
import { constants as osConstants } from 'node:os';
import { rd16, rd32 } from '../../core/packet/frame.js';
import { macEquals } from './neighbour.js';

/** An IPv4 flow in host-order numbers, as the connection table holds it. */
export interface FlowKey {
  saddr: number;
  daddr: number;
  sport: number;
  dport: number;
  proto: number;
}

/** What the offloader needs of a fast path (BpfFastPath; an in-memory fake in tests). */
export interface FlowFastPath {
  /** Installs or replaces an entry (counters from 0); `toPeer`: into the out veth's peer (tc). 0 or an errno. */
  insert(k: FlowKey, outIfIndex: number, dstMac: Uint8Array, srcMac: Uint8Array, mtu: number, toPeer: boolean): number;
  remove(k: FlowKey): void;
  /** Cumulative counters of an entry; false when there is none. */
  read(k: FlowKey, out: { packets: number; bytes: number }): boolean;
}

/** The engine's side (PacketEngine.offloadCredit). */
export interface OffloadCreditor {
  offloadCredit(s: number, caddr: number, vaddr: number, cport: number, vport: number, proto: number, packets: number, bytes: number): boolean;
}

/** Counters of the offloader (monotonic, but `active`). */
export interface OffloadCounters {
  installed: number;
  /** Of those, flows delivered straight into a veth peer (ADR 0005, "Delivery to a veth peer"). */
  installedToPeer: number;
  removed: number;
  /** Times the fast path's table became full (E2BIG); no insert is tried until an entry goes. */
  full: number;
  /** Inserts refused for another reason, and reads or removals the fast path failed. */
  failed: number;
  /** Packets the fast path forwarded, as credited so far. */
  packets: number;
  active: number;
}

const { E2BIG } = osConstants.errno;

interface Tracked {
  readonly key: FlowKey;
  packets: number;
  bytes: number;
  readonly outIfIndex: number;
  /** The next hop's MAC (a copy), and whether the entry delivers into the out veth's peer. */
  readonly nextHop: Uint8Array;
  readonly toPeer: boolean;
}

/** True when the IPv4 frame at `off` (untagged, no options) carries the flow `k`. */
function carries(k: FlowKey, u8: Uint8Array, off: number): boolean {
  return rd32(u8, off + 26) === k.saddr && rd32(u8, off + 30) === k.daddr && u8[off + 23] === k.proto &&
    rd16(u8, off + 34) === k.sport && rd16(u8, off + 36) === k.dport;
}

export class FlowOffloader {
  readonly counters: OffloadCounters = { installed: 0, installedToPeer: 0, removed: 0, full: 0, failed: 0, packets: 0, active: 0 };
  /** Offloaded conns by connection-table slot. */
  private readonly tracked = new Map<number, Tracked>();
  private readonly scratch = { packets: 0, bytes: 0 };
  /**
   * The map refused an insert (E2BIG): no more tries until an entry is removed, so flows beyond
   * the map's size cost no system call per packet.
   */
  private full = false;
  /** Where sync() goes on (a live Map iterator: it sees later inserts and skips deleted flows). */
  private cursor = this.tracked.entries();

  /** Veths whose peer may take frames straight into its receive path: the peer's MAC (net-context.ts `peerMac`). */
  private peerMacOf = new Map<number, Uint8Array>();

  constructor(
    private readonly fast: FlowFastPath,
    private readonly engine: OffloadCreditor,
    /** Whether the fast path can deliver into a veth's peer (the tc hook). */
    private readonly peerDelivery = false,
  ) {}

  /**
   * The director's interfaces, at start and whenever they change. A flow whose delivery no longer
   * matches (its veth gained an egress qdisc, its peer changed) is sent back to the engine when
   * sync() next visits it (within a second up to 20,480 flows), and the engine installs it again
   * as the facts now say: a change costs no unbounded pass over the table in one turn.
   */
  setInterfaces(interfaces: ReadonlyArray<{ readonly ifIndex: number; readonly peerMac?: Uint8Array }>): void {
    if (!this.peerDelivery) return;
    const next = new Map<number, Uint8Array>();
    for (const i of interfaces) if (i.peerMac) next.set(i.ifIndex, i.peerMac);
    this.peerMacOf = next;
  }

  /** Whether frames for the next hop at `u8[off..off+6]` out of `outIfIndex` go into that veth's peer: the peer is the next hop itself. */
  private toPeer(outIfIndex: number, u8: Uint8Array, off = 0): boolean {
    const peer = this.peerMacOf.get(outIfIndex);
    return peer !== undefined && macEquals(peer, u8, off);
  }

  /**
   * A frame of conn `conn` was forwarded (already rewritten, at `u8[off..]`) on `outIfIndex`. Only
   * what the fast path parses is installed: untagged IPv4 without options.
   */
  forwarded(conn: number, offloadable: boolean, u8: Uint8Array, off: number, outIfIndex: number, mtu: number): void {
    const t = this.tracked.get(conn);
    if (!offloadable) {
      if (t) this.stopOrForget(conn, t);
      return;
    }
    if (u8[off + 12] !== 0x08 || u8[off + 13] !== 0x00 || u8[off + 14] !== 0x45) return;
    if (t) {
      // Packets that raced the entry (or were handed back, e.g. TTL): nothing to do. A slot reused
      // by another conn since the last sync: that one's entry goes, this one's comes.
      if (carries(t.key, u8, off)) return;
      this.stopOrForget(conn, t);
    }
    if (this.full) return;
    const key: FlowKey = {
      saddr: rd32(u8, off + 26), daddr: rd32(u8, off + 30), proto: u8[off + 23],
      sport: rd16(u8, off + 34), dport: rd16(u8, off + 36),
    };
    // Into the veth's peer only when the next hop is the peer itself: what the peer's receive would
    // have made of the frame (PACKET_HOST) is then the same.
    const toPeer = this.toPeer(outIfIndex, u8, off);
    const rc = this.fast.insert(key, outIfIndex, u8.subarray(off, off + 6), u8.subarray(off + 6, off + 12), mtu, toPeer);
    if (rc !== 0) {
      if (rc === E2BIG) { this.counters.full++; this.full = true; }
      else this.counters.failed++;
      return;
    }
    this.counters.installed++;
    if (toPeer) this.counters.installedToPeer++;
    this.tracked.set(conn, { key, packets: 0, bytes: 0, outIfIndex, nextHop: u8.slice(off, off + 6), toPeer });
    this.counters.active = this.tracked.size;
  }

  /**
   * Credits what the fast path forwarded since the last visit, for at most `max` flows, going on
   * where the previous call stopped (one map read each, about 2 µs: the forwarder's loop must not
   * stall behind hundreds of thousands of them); drops the entries of conns that are over.
   */
  sync(max = Infinity): void {
    for (let n = 0; n < max; n++) {
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = this.tracked.entries();
        return;
      }
      const [s, t] = next.value;
      let live = false;
      try { live = this.credit(s, t); } catch { this.counters.failed++; }
      // Delivery that no longer matches the facts: back to the engine (credited just now).
      if (live && t.toPeer !== this.toPeer(t.outIfIndex, t.nextHop)) live = false;
      // Just credited (or the read failed): stop without a second read (the entry is still removed).
      if (!live) this.stopOrForget(s, t, false);
    }
  }

  /**
   * After a table change: stops at once the flows whose conns are no longer offloadable (a deleted
   * destination drops or expires its conns, spec §2.9). Asks the engine only; the fast path is
   * read just for the flows that stop.
   */
  revalidate(): void {
    for (const [s, t] of this.tracked) {
      const k = t.key;
      if (!this.engine.offloadCredit(s, k.saddr, k.daddr, k.sport, k.dport, k.proto, 0, 0)) this.stopOrForget(s, t);
    }
  }

  /** Removes every entry (credited first): the plane stops, or the fast path goes away. */
  clear(): void {
    for (const [s, t] of this.tracked) this.stopOrForget(s, t);
  }

  /** Credits the new packets of `t`; false when the conn is over or no longer offloadable. */
  private credit(s: number, t: Tracked): boolean {
    const r = this.scratch;
    if (!this.fast.read(t.key, r)) return false;
    const packets = r.packets - t.packets;
    const bytes = r.bytes - t.bytes;
    t.packets = r.packets;
    t.bytes = r.bytes;
    this.counters.packets += packets;
    const k = t.key;
    return this.engine.offloadCredit(s, k.saddr, k.daddr, k.sport, k.dport, k.proto, packets, bytes);
  }

  /** stop(), or when the fast path fails unexpectedly (EBADF, ENOMEM), just forget the flow: the engine has it. */
  private stopOrForget(s: number, t: Tracked, creditFirst = true): void {
    try {
      this.stop(s, t, creditFirst);
    } catch {
      this.counters.failed++;
      this.tracked.delete(s);
      this.counters.active = this.tracked.size;
    }
  }

  private stop(s: number, t: Tracked, creditFirst = true): void {
    // What the kernel forwarded since the last sync still counts (a packet that slips in between
    // the read and the removal is forwarded uncounted: at most a few, once per conn).
    if (creditFirst) this.credit(s, t);
    this.fast.remove(t.key);
    this.full = false;
    this.tracked.delete(s);
    this.counters.removed++;
    this.counters.active = this.tracked.size;
  }
}
