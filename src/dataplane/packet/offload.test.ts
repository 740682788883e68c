// The offloader between a real engine replica and an in-memory fast path (the kernel's XDP table is
// exercised for real in src/dataplane/packet/xdp and the lab end-to-end tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TableOp } from '../../control/director-api.js';
import { ManualClock } from '../../core/clock.js';
import { newVerdict, VerdictKind, type NetContext } from '../../core/engine-contract.js';
import type { IpAddress } from '../../core/net/addr.js';
import { GOLDEN } from '../../core/packet/golden-frames.js';
import { FIX, fromHex } from '../../core/packet/testing.js';
import { SeededRandom } from '../../core/random.js';
import { DEST_DEFAULTS, type ForwardMethod } from '../../core/service/types.js';
import { createEngine, type PacketEngineReplica } from './engine-module.js';
import { constants as osConstants } from 'node:os';
import { type FlowFastPath, type FlowKey, FlowOffloader } from './offload.js';

const { E2BIG } = osConstants.errno;

const ip4 = (b: Uint8Array): IpAddress => ({ family: 4, bytes: b });
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const UDP = { kind: 'addr' as const, protocol: 'udp' as const, addr: ip4(FIX.VIP), port: 53 };

/** A fast path in memory: `kernel(n, bytes)` plays the kernel forwarding packets of every entry. */
class FakeFastPath implements FlowFastPath {
  readonly entries = new Map<string, { out: number; dmac: string; toPeer: boolean; packets: number; bytes: number }>();
  /** insert() calls, and the most entries it holds (more is E2BIG, as a full BPF hash map). */
  inserts = 0;
  capacity = Infinity;
  /** read() calls, and whether they throw (a failed bpf(2) lookup). */
  reads = 0;
  readFails = false;
  insert(k: FlowKey, out: number, dmac: Uint8Array, _smac: Uint8Array, _mtu: number, toPeer: boolean): number {
    this.inserts++;
    if (this.entries.size >= this.capacity) return E2BIG;
    this.entries.set(JSON.stringify(k), { out, dmac: Buffer.from(dmac).toString('hex'), toPeer, packets: 0, bytes: 0 });
    return 0;
  }
  remove(k: FlowKey): void {
    this.entries.delete(JSON.stringify(k));
  }
  read(k: FlowKey, out: { packets: number; bytes: number }): boolean {
    this.reads++;
    if (this.readFails) throw new Error('bpf: EPERM');
    const e = this.entries.get(JSON.stringify(k));
    if (!e) return false;
    out.packets = e.packets;
    out.bytes = e.bytes;
    return true;
  }
  kernel(packets: number, bytes: number): void {
    for (const e of this.entries.values()) { e.packets += packets; e.bytes += bytes; }
  }
}

function setup(method: ForwardMethod, peerDelivery = false) {
  const net: NetContext = {
    interfaces: () => [{ ifIndex: 1, name: 'eth0', mac: FIX.DIR, mtu: 1500, addrs: [ip4(FIX.DIP)] }],
    nextHop: (dst) => (same(dst.bytes, FIX.RS) ? { ifIndex: 1, mac: FIX.RSM, src: ip4(FIX.DIP), mtu: 1500 } : undefined),
    isLocal: (a) => same(a.bytes, FIX.DIP),
  };
  const ops: TableOp[] = [
    { op: 'add-service', service: { key: UDP, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff } },
    { op: 'add-dest', key: UDP, dest: { ...DEST_DEFAULTS, addr: ip4(FIX.RS), port: 53, method, weight: 1 } },
  ];
  const clock = new ManualClock(0);
  const engine = createEngine({ net, clock, random: new SeededRandom(3), ops, sysctls: {}, worker: { index: 0, count: 1 }, options: {} }) as PacketEngineReplica;
  const fast = new FakeFastPath();
  const off = new FlowOffloader(fast, engine, peerDelivery);
  const v = newVerdict();
  /** One client datagram (golden in_B, 37 IP bytes; another client port makes another conn) through the engine, then the offloader, as the forwarder does. */
  const send = (sport?: number) => {
    const f = fromHex(GOLDEN.in_B);
    if (sport !== undefined) new DataView(f.buffer, f.byteOffset).setUint16(14 + 20, sport); // checksums are not verified here
    engine.process(f, f.length, 1, v);
    assert.equal(v.kind, VerdictKind.Forward);
    if (v.conn >= 0) off.forwarded(v.conn, v.offloadable, v.out, 0, v.ifIndex, 1500);
  };
  return { engine, clock, fast, off, send };
}

test('offload: a DR flow is installed once with the next hop the engine chose, and what the kernel forwards is credited', () => {
  const { engine, fast, off, send } = setup('droute');
  send();
  assert.equal(fast.entries.size, 1);
  const [key, entry] = [...fast.entries][0];
  assert.deepEqual(JSON.parse(key), { saddr: 0xc612000a, daddr: 0xc6120164, proto: 17, sport: 0x14e9, dport: 53 });
  assert.deepEqual([entry.out, entry.dmac], [1, Buffer.from(FIX.RSM).toString('hex')]);
  send(); // a datagram that raced the entry: no second install
  assert.equal(off.counters.installed, 1);
  fast.kernel(10, 370);
  off.sync();
  const s = engine.snapshot();
  assert.deepEqual(s.services[0].stats, { conns: 1, inPkts: 2 + 10, outPkts: 0, inBytes: 2 * 37 + 370, outBytes: 0 });
  assert.deepEqual([off.counters.packets, off.counters.active], [10, 1]);
});

test('offload: a conn that expires loses its entry (its packets come back to the engine), and NAT is never offloaded', () => {
  const { engine, clock, fast, off, send } = setup('droute');
  send();
  clock.advance(301_000);
  engine.tick();
  assert.equal(engine.snapshot().conns, 0);
  off.sync();
  assert.deepEqual([fast.entries.size, off.counters.removed, off.counters.active], [0, 1, 0]);

  const nat = setup('masq');
  nat.send();
  assert.equal(nat.fast.entries.size, 0);
});

test('offload: a deleted destination stops the fast path at revalidate() (the forwarder calls it after table changes)', () => {
  const { engine, fast, off, send } = setup('droute');
  send();
  fast.kernel(4, 148);
  off.revalidate();
  assert.equal(fast.entries.size, 1, 'nothing changed: the flow stays');
  const r = engine.applyOps([{ op: 'delete-dest', key: UDP, addr: ip4(FIX.RS), port: 53 }]);
  assert.ok(r.ok);
  off.revalidate();
  assert.deepEqual([fast.entries.size, off.counters.removed, off.counters.active], [0, 1, 0]);
  assert.equal(off.counters.packets, 4, 'what the kernel forwarded before the stop was read');
});

test('offload: sync(max) visits at most max flows per call and goes on where it stopped', () => {
  const { engine, fast, off, send } = setup('droute');
  for (let i = 0; i < 5; i++) send(1000 + i); // five clients: five conns, five flows
  assert.equal(fast.entries.size, 5);
  fast.kernel(1, 37);
  off.sync(2);
  assert.equal(off.counters.packets, 2);
  off.sync(2);
  assert.equal(off.counters.packets, 4);
  off.sync(2); // the fifth flow, then the pass ends
  assert.equal(off.counters.packets, 5);
  fast.kernel(1, 37);
  off.sync();
  assert.equal(off.counters.packets, 10, 'a full pass credits every flow once');
  assert.equal(engine.snapshot().services[0].stats.inPkts, 5 + 5 + 5);
});

test('offload: once the map is full, flows beyond it cost no insert per packet until an entry is removed', () => {
  const { engine, clock, fast, off, send } = setup('droute');
  fast.capacity = 2;
  send(1000);
  send(1001);
  send(1002); // refused: E2BIG
  assert.deepEqual([fast.entries.size, off.counters.full, fast.inserts], [2, 1, 3]);
  for (let i = 0; i < 10; i++) send(1002 + (i % 2)); // the engine forwards them; no bpf call each
  assert.equal(fast.inserts, 3);
  // The two offloaded conns expire; the sync removes their entries, and room is tried again.
  clock.advance(301_000);
  engine.tick();
  off.sync();
  assert.equal(fast.entries.size, 0);
  send(1003);
  assert.deepEqual([fast.entries.size, fast.inserts], [1, 4]);
});

test('offload: a flow whose counters cannot be read is stopped: its entry removed, one read, one failure', () => {
  const { fast, off, send } = setup('droute');
  send();
  assert.equal(fast.entries.size, 1);
  fast.readFails = true;
  off.sync();
  assert.equal(fast.reads, 1, 'no second read of a flow that just failed');
  assert.deepEqual([fast.entries.size, off.counters.failed, off.counters.removed, off.counters.active], [0, 1, 1, 0],
    'the kernel entry goes too: it would forward uncounted forever');
});

test('offload: a flow the sync finds over is removed after that one read (no second read to credit it)', () => {
  const { fast, off, send, clock, engine } = setup('droute');
  send();
  assert.equal(fast.entries.size, 1);
  fast.kernel(4, 400);
  clock.advance(301_000); // the UDP conn expires: the next credit says it is over
  engine.tick();
  fast.reads = 0;
  off.sync();
  assert.equal(fast.reads, 1, 'one read per flow and sync');
  assert.deepEqual([fast.entries.size, off.counters.removed, off.counters.packets], [0, 1, 4], 'its last packets are still credited');
});

test('offload: a flow goes straight into the out veth\'s peer only when that peer is the next hop itself and the hook can (ADR 0005)', () => {
  const other = Uint8Array.from([2, 0, 0, 0, 0, 0x99]);
  for (const [peer, hookCan, toPeer] of [[FIX.RSM, true, true], [other, true, false], [undefined, true, false], [FIX.RSM, false, false]] as const) {
    const { fast, off, send } = setup('droute', hookCan);
    off.setInterfaces([{ ifIndex: 1, peerMac: peer }, { ifIndex: 2, peerMac: FIX.RSM }]);
    send();
    assert.deepEqual([...fast.entries.values()].map((e) => e.toPeer), [toPeer], `peer ${peer && Buffer.from(peer).toString('hex')}, hook ${hookCan}`);
    assert.deepEqual([off.counters.installed, off.counters.installedToPeer], [1, toPeer ? 1 : 0]);
  }
});

test('offload: when a veth\'s peer delivery changes (an egress qdisc added), its flows go back to the engine at the next sync and return as the facts say', () => {
  const { fast, off, send } = setup('droute', true);
  off.setInterfaces([{ ifIndex: 1, peerMac: FIX.RSM }]);
  send();
  assert.deepEqual([...fast.entries.values()].map((e) => e.toPeer), [true]);
  off.setInterfaces([{ ifIndex: 1, peerMac: FIX.RSM }, { ifIndex: 2 }]); // unchanged for this flow
  off.sync();
  assert.equal(off.counters.removed, 0);
  off.setInterfaces([{ ifIndex: 1 }]);
  assert.equal(fast.entries.size, 1, 'not at once: a change costs no pass over the table');
  fast.kernel(3, 111);
  off.sync();
  assert.deepEqual([fast.entries.size, off.counters.removed, off.counters.packets], [0, 1, 3], 'removed at the sync, credited first');
  send();
  assert.deepEqual([...fast.entries.values()].map((e) => e.toPeer), [false]);
});

test('offload: a veth that becomes fit for peer delivery moves its flows there at the next sync', () => {
  const { fast, off, send } = setup('droute', true);
  off.setInterfaces([{ ifIndex: 1 }]);
  send();
  assert.deepEqual([...fast.entries.values()].map((e) => e.toPeer), [false]);
  off.setInterfaces([{ ifIndex: 1, peerMac: FIX.RSM }]);
  off.sync();
  assert.deepEqual([fast.entries.size, off.counters.removed], [0, 1]);
  send();
  assert.deepEqual([...fast.entries.values()].map((e) => e.toPeer), [true]);
  assert.equal(off.counters.installedToPeer, 1);
});
