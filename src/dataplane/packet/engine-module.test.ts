// The packet plane's engine module without a plane: what a worker's replica does with ops, frames
// (golden frames of src/core/packet), sysctls, snapshots and connection pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TableOp } from '../../control/director-api.js';
import { ManualClock } from '../../core/clock.js';
import { newVerdict, VerdictKind, type NetContext } from '../../core/engine-contract.js';
import type { IpAddress } from '../../core/net/addr.js';
import { diffGolden } from '../../core/fwd/testing.js';
import { GOLDEN } from '../../core/packet/golden-frames.js';
import { FIX, fromHex } from '../../core/packet/testing.js';
import { SeededRandom } from '../../core/random.js';
import { DEST_DEFAULTS, type ForwardMethod } from '../../core/service/types.js';
import { createEngine, PacketEngineReplica, TIMEOUT_SYSCTLS } from './engine-module.js';

const ip4 = (b: Uint8Array): IpAddress => ({ family: 4, bytes: b });
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const KEY = { kind: 'addr' as const, protocol: 'tcp' as const, addr: ip4(FIX.VIP), port: 80 };

function ops(method: ForwardMethod, port = 80): TableOp[] {
  return [
    { op: 'add-service', service: { key: KEY, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff } },
    { op: 'add-dest', key: KEY, dest: { ...DEST_DEFAULTS, addr: ip4(FIX.RS), port, method, weight: 1 } },
  ];
}

function replica(initOps: TableOp[], options: unknown = {}, sysctls: Record<string, number> = {}) {
  const net: NetContext = {
    interfaces: () => [{ ifIndex: 1, name: 'eth0', mac: FIX.DIR, mtu: 1500, addrs: [ip4(FIX.DIP)] }],
    nextHop: (dst) => (same(dst.bytes, FIX.RS) ? { ifIndex: 1, mac: FIX.RSM, src: ip4(FIX.DIP), mtu: 1500 } : undefined),
    isLocal: (a) => same(a.bytes, FIX.DIP) || same(a.bytes, FIX.LIP),
  };
  return createEngine({
    net, clock: new ManualClock(0), random: new SeededRandom(3), ops: initOps, sysctls, worker: { index: 0, count: 1 }, options,
  }) as PacketEngineReplica;
}

test('engine module: the initial ops build the table and a SYN to the VIP is forwarded as direct routing (golden dr_A)', () => {
  const e = replica(ops('droute'));
  const f = fromHex(GOLDEN.in_A);
  const v = newVerdict();
  e.process(f, f.length, 1, v);
  assert.equal(v.kind, VerdictKind.Forward);
  assert.equal(diffGolden(v.out, 0, v.outLength, 'dr_A'), '');
  const s = e.snapshot();
  assert.equal(s.services.length, 1);
  // One connection, one packet of 44 IP bytes (20 IPv4 + 24 TCP with MSS), SYN_RECV counts active (spec §2.5).
  assert.deepEqual(s.services[0].stats, { conns: 1, inPkts: 1, outPkts: 0, inBytes: 44, outBytes: 0 });
  assert.deepEqual(s.total, { conns: 1, inPkts: 1, outPkts: 0, inBytes: 44, outBytes: 0 });
  const d = s.services[0].dests[0];
  assert.deepEqual([d.port, d.activeConns, d.inactConns, d.persistConns, d.stats.conns], [80, 1, 0, 0, 1]);
  assert.equal(s.conns, 1);
  const page = e.connections(0, 10);
  assert.equal(page.total, 1);
  assert.equal(page.entries[0].protocol, 'TCP');
  assert.deepEqual([...page.entries[0].client.addr.bytes, page.entries[0].client.port], [...FIX.C, 40000]);
  assert.equal(page.entries[0].state, 'SYN_RECV');
  assert.deepEqual(e.connections(1, 10).entries, [], 'paged');
});

test('engine module: applyOps is all or nothing, like the Director (a bad op leaves the table as it was)', () => {
  const e = replica(ops('masq', 8080));
  const other = { ...KEY, port: 443 };
  const r = e.applyOps([
    { op: 'add-service', service: { key: other, scheduler: 'wlc', flags: 0, timeoutS: 0, netmask: 0xffffffff } },
    { op: 'add-dest', key: { ...KEY, port: 444 }, dest: { ...DEST_DEFAULTS, addr: ip4(FIX.RS), port: 443, method: 'masq', weight: 1 } },
  ]);
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /service/i);
  assert.equal(e.snapshot().services.length, 1, 'the first op was not applied either');
  assert.deepEqual(e.applyOps([{ op: 'delete-service', key: KEY }]), { ok: true });
  assert.equal(e.snapshot().services.length, 0);
  const f = fromHex(GOLDEN.in_A);
  const v = newVerdict();
  e.process(f, f.length, 1, v);
  assert.notEqual(v.kind, VerdictKind.Forward, 'no service: not forwarded');
});

test('engine module: full NAT uses the local addresses from the options (golden fnat_in_A)', () => {
  const e = replica(ops('fullnat', 8080), { fullnat: { addresses: ['198.18.2.2'], portMin: 61000, portMax: 61000 } });
  const f = fromHex(GOLDEN.in_A);
  const v = newVerdict();
  e.process(f, f.length, 1, v);
  assert.equal(v.kind, VerdictKind.Forward);
  assert.equal(diffGolden(v.out, 0, v.outLength, 'fnat_in_A'), '');
});

test('engine module: timeouts and sysctls arrive by name; counters stay raw across -Z (the main thread keeps the zero point)', () => {
  const e = replica(ops('droute'), {}, { [TIMEOUT_SYSCTLS.tcp]: 1234, expire_nodest_conn: 1, no_such_sysctl: 5 });
  assert.equal(e.ipvs.getTimeouts().tcp, 1234);
  assert.equal(e.ipvs.sysctls.expire_nodest_conn, 1);
  e.setSysctls({ [TIMEOUT_SYSCTLS.udp]: 77 });
  assert.deepEqual([e.ipvs.getTimeouts().tcp, e.ipvs.getTimeouts().udp], [1234, 77], '0/absent leaves a timeout unchanged');
  const f = fromHex(GOLDEN.in_A);
  e.process(f, f.length, 1, newVerdict());
  assert.deepEqual(e.applyOps([{ op: 'zero' }]), { ok: true });
  assert.equal(e.snapshot().services[0].stats.inPkts, 1);
});
