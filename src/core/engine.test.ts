// engine.process end to end on golden frames (spec §2–§3): the expected frames were generated with
// scapy from scratch (see packet/golden-frames.ts for the recipe) and every checksum is re-verified
// by an independent naive checker (packet/testing.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.js';
import { Ipvs } from './conn/ipvs.js';
import { newVerdict, VerdictKind, type NetContext } from './engine-contract.js';
import { Engine } from './engine.js';
import type { IpAddress } from './net/addr.js';
import { GOLDEN } from './packet/golden-frames.js';
import { FIX, fromHex, verifyFrameChecksums } from './packet/testing.js';
import { diffGolden } from './fwd/testing.js';
import { SeededRandom } from './random.js';
import { registerBuiltinSchedulers } from './sched/builtin.js';
import { SchedulerRegistry } from './sched/scheduler.js';
import { ServiceTable } from './service/service-table.js';
import { DEST_DEFAULTS, type DestConfig, type ForwardMethod } from './service/types.js';

const ip4 = (b: Uint8Array): IpAddress => ({ family: 4, bytes: b });
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Director with one interface (MAC DIR, 198.18.2.1); the RS and the router (toward clients) are neighbours. */
function setup(method: ForwardMethod, destPort: number, extra: Partial<DestConfig> = {}, fullnat = false) {
  const clock = new ManualClock(0);
  const random = new SeededRandom(7);
  const registry = new SchedulerRegistry();
  registerBuiltinSchedulers(registry);
  const table = new ServiceTable({ registry, env: { clock, random, mhTableSize: 4093, lblcExpirationS: 86400, lblcrExpirationS: 86400 } });
  const ipvs = new Ipvs(table, { clock, random, fullnatPool: fullnat ? { addresses: [ip4(FIX.LIP)], portMin: 61000, portMax: 61000 } : undefined });
  const net: NetContext = {
    interfaces: () => [{ ifIndex: 1, name: 'eth0', mac: FIX.DIR, mtu: 1500, addrs: [ip4(FIX.DIP)] }],
    nextHop: (dst) => same(dst.bytes, FIX.RS) ? { ifIndex: 1, mac: FIX.RSM, src: ip4(FIX.DIP), mtu: 1500 }
      : same(dst.bytes, FIX.C) ? { ifIndex: 1, mac: FIX.RTR, src: ip4(FIX.DIP), mtu: 1500 } : undefined,
    isLocal: (a) => same(a.bytes, FIX.DIP) || same(a.bytes, FIX.LIP),
  };
  for (const proto of ['tcp', 'udp'] as const) {
    const port = proto === 'tcp' ? 80 : 53;
    const key = { kind: 'addr' as const, protocol: proto, addr: ip4(FIX.VIP), port };
    table.addService({ key, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff });
    table.addDest(key, { ...DEST_DEFAULTS, addr: ip4(FIX.RS), port: proto === 'tcp' ? destPort : 53, method, weight: 1, ...extra });
  }
  return { engine: new Engine({ table, ipvs, net }), table, ipvs };
}

function run(engine: Engine, name: string) {
  const f = fromHex(GOLDEN[name]);
  const v = newVerdict();
  engine.process(f, f.length, 1, v);
  return v;
}

test('direct routing: only MACs and TTL change (spec §3.2) — golden dr_A', () => {
  const { engine, table } = setup('droute', 80);
  const v = run(engine, 'in_A');
  assert.equal(v.kind, VerdictKind.Forward);
  assert.equal(v.ifIndex, 1);
  assert.equal(diffGolden(v.out, 0, v.outLength, 'dr_A'), '');
  const d = table.services()[0].destinations[0];
  assert.equal(d.activeConns, 1, 'SYN → SYN_RECV counts active (spec §2.5)');
  assert.equal(d.stats.inPkts, 1);
  // The verdict names the conn; a SYN_RECV conn is not for a fast path yet (ADR 0005).
  assert.ok(v.conn >= 0);
  assert.equal(v.offloadable, false);
});

test('a DR UDP conn is offloadable from its first packet; a NAT one never is (ADR 0005)', () => {
  const dr = setup('droute', 80);
  const v = run(dr.engine, 'in_B');
  assert.equal(v.kind, VerdictKind.Forward);
  assert.ok(v.conn >= 0);
  assert.equal(v.offloadable, true);
  const nat = setup('masq', 8080);
  const w = run(nat.engine, 'in_B');
  assert.equal(w.kind, VerdictKind.Forward);
  assert.equal(w.offloadable, false);
});

test('masquerading in and out: DNAT to RS:8080, replies SNATed to VIP:80 (spec §3.1) — goldens masq_in_A, masq_out_G', () => {
  const { engine, table } = setup('masq', 8080);
  const v = run(engine, 'in_A');
  assert.equal(v.kind, VerdictKind.Forward);
  assert.equal(diffGolden(v.out, 0, v.outLength, 'masq_in_A'), '');
  const r = run(engine, 'in_G');
  assert.equal(r.kind, VerdictKind.Forward, 'the reply matches the conn by out-lookup (spec §2.1)');
  assert.equal(diffGolden(r.out, 0, r.outLength, 'masq_out_G'), '');
  const d = table.services()[0].destinations[0];
  assert.equal(d.stats.outPkts, 1);
});

test('full NAT: client → local address, replies mapped back (tsvs fullnat) — goldens fnat_in_A, fnat_out_H', () => {
  const { engine } = setup('fullnat', 8080, {}, true);
  const v = run(engine, 'in_A');
  assert.equal(v.kind, VerdictKind.Forward);
  assert.equal(diffGolden(v.out, 0, v.outLength, 'fnat_in_A'), '');
  const r = run(engine, 'in_H');
  assert.equal(r.kind, VerdictKind.Forward);
  assert.equal(diffGolden(r.out, 0, r.outLength, 'fnat_out_H'), '');
});

test('tunnel: IPIP with the director as outer source, DF copied (spec §3.3) — golden tun_ipip_A', () => {
  const { engine } = setup('tunnel', 80);
  const v = run(engine, 'in_A');
  assert.equal(v.kind, VerdictKind.Forward);
  assert.equal(diffGolden(v.out, 0, v.outLength, 'tun_ipip_A'), '');
});

test('tunnel in place: a frame in a larger buffer (a packet plane staging slot) is encapsulated where it lies — golden tun_ipip_A', () => {
  const { engine } = setup('tunnel', 80);
  const f = fromHex(GOLDEN.in_A);
  const slot = new Uint8Array(2048);
  slot.set(f);
  const v = newVerdict();
  engine.process(slot, f.length, 1, v);
  assert.equal(v.kind, VerdictKind.Forward);
  assert.equal(v.out, slot, 'no copy: the slot itself is sent');
  assert.equal(diffGolden(v.out, 0, v.outLength, 'tun_ipip_A'), '');
});

test('tunnel in place and in the engine buffer give the same GUE frame with a valid outer UDP checksum (spec §3.3)', () => {
  const gue = { tunType: 'gue', tunPort: 6080, tunCsum: 'csum' } as const;
  const a = setup('tunnel', 80, gue).engine;
  const b = setup('tunnel', 80, gue).engine;
  const f = fromHex(GOLDEN.in_B);
  const slot = new Uint8Array(2048);
  slot.set(f);
  const va = newVerdict();
  const vb = newVerdict();
  a.process(f, f.length, 1, va);
  b.process(slot, f.length, 1, vb);
  assert.equal(va.kind, VerdictKind.Forward);
  assert.equal(vb.out, slot);
  assert.notEqual(va.out, f, 'an exact-size frame has no room: the engine buffer is used');
  assert.deepEqual([...vb.out.subarray(0, vb.outLength)], [...va.out.subarray(0, va.outLength)]);
  assert.equal(vb.outLength, f.length + 20 + 8 + 4, 'outer IPv4 + UDP + GUE');
  assert.deepEqual(verifyFrameChecksums(vb.out.subarray(0, vb.outLength)), []);
});

test('ARP requests for a VIP are answered with the interface MAC — golden arp_reply', () => {
  const { engine } = setup('droute', 80);
  const v = run(engine, 'in_arpreq');
  assert.equal(v.kind, VerdictKind.Reply);
  assert.equal(diffGolden(v.out, 0, v.outLength, 'arp_reply'), '');
});

test('no available destination answers ICMP port unreachable from the VIP, even for TCP (spec §2.6)', () => {
  const { engine, table } = setup('masq', 8080);
  for (const svc of table.services()) table.editDest(svc.key, { ...svc.destinations[0].config(), weight: 0 });
  for (const name of ['in_A', 'in_B']) {
    const v = run(engine, name);
    assert.equal(v.kind, VerdictKind.Reply, name);
    const out = v.out.subarray(0, v.outLength);
    assert.deepEqual([...out.subarray(0, 6)], [...FIX.RTR], 'back to the sender');
    assert.equal(out[14 + 9], 1, 'ICMP');
    assert.deepEqual([...out.subarray(26, 30)], [...FIX.VIP], 'from the VIP');
    assert.deepEqual([out[34], out[35]], [3, 3], 'destination unreachable / port unreachable');
    assert.deepEqual(verifyFrameChecksums(out), []);
  }
});

test('packets not for a VIP, and non-SYN TCP without a connection, go to the local stack (spec §2.5)', () => {
  const { engine } = setup('droute', 80);
  assert.equal(run(engine, 'in_G').kind, VerdictKind.Local, 'a reply with no conn');
  const ack = fromHex(GOLDEN.in_A);
  ack[14 + 20 + 13] = 0x10; // SYN -> ACK (checksum now wrong, but no conn exists anyway)
  const v = newVerdict();
  engine.process(ack, ack.length, 1, v);
  assert.equal(v.kind, VerdictKind.Local);
});

test('a destination without a known neighbour is dropped with a named reason', () => {
  const { engine, table } = setup('droute', 80);
  const svc = table.services()[0];
  table.deleteDest(svc.key, svc.destinations[0].addr, 80);
  table.addDest(svc.key, { ...DEST_DEFAULTS, addr: ip4(fromHex('c6120263')), port: 80, method: 'droute', weight: 1 });
  const v = run(engine, 'in_A');
  assert.equal(v.kind, VerdictKind.Drop);
  assert.equal(v.dropReason, 'no-neighbour');
  assert.equal(engine.counters.drops['no-neighbour'], 1);
});
