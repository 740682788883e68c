// ARP/NDP for VIPs in the forwarding loop, the resolution requests it sends, the service model
// that drives the nft exclusion rules, the rules' text, and the merge of worker snapshots.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TableOp } from '../../src/control/director-api.js';
import { checksum, pseudoSum6 } from '../../src/core/net/checksum.js';
import { GOLDEN } from '../../src/core/packet/golden-frames.js';
import { ParsedFrame, PARSE_OK } from '../../src/core/packet/frame.js';
import { parseFrame } from '../../src/core/packet/parse-frame.js';
import { fromHex, toHex } from '../../src/core/packet/testing.js';
import {
  NEIGH_PASS, NEIGH_REPLIED, NeighbourResponder, VipSet, buildArpRequest, buildNeighbourSolicitation,
} from '../../src/dataplane/packet/arp.js';
import { NeighbourCache } from '../../src/dataplane/packet/neighbour.js';
import { SMALL_SET, renderRuleset } from '../../src/dataplane/packet/nft.js';
import { merge } from '../../src/dataplane/packet/plane-snapshot.js';
import { ServiceModel } from '../../src/dataplane/packet/service-model.js';
import { newIoCounters, type WorkerSnapshot } from '../../src/dataplane/packet/worker-protocol.js';
import { ip } from './fixtures/wire.js';

const DIR = new Uint8Array([2, 0, 0, 0, 0, 2]);

test('buildArpRequest: broadcast who-has with our MAC and address (RFC 826 layout)', () => {
  const out = new Uint8Array(42);
  assert.equal(buildArpRequest(out, 0, DIR, ip('198.18.2.1').bytes, ip('198.18.2.20').bytes), 42);
  assert.equal(toHex(out), 'ffffffffffff020000000002' + '0806' + '0001080006040001' + '020000000002c6120201' + '000000000000c6120214');
});

test('buildNeighbourSolicitation: solicited-node multicast, hop limit 255, SLLA option, valid ICMPv6 checksum', () => {
  const out = new Uint8Array(86);
  const src = ip('fe80::2').bytes;
  const target = ip('2001:db8:3::20').bytes;
  assert.equal(buildNeighbourSolicitation(out, 0, DIR, src, target), 86);
  assert.equal(toHex(out, 0, 6), '3333ff000020');
  const p = new ParsedFrame();
  assert.equal(parseFrame(out, 86, p), PARSE_OK);
  assert.equal(p.icmpType, 135);
  assert.equal(p.ttl, 255);
  assert.equal(toHex(out, p.dstOff, 16), 'ff0200000000000000000001ff000020');
  assert.equal(toHex(out, p.ndTargetOff, 16), toHex(target));
  assert.equal(toHex(out, p.ndLlaOff, 6), '020000000002');
  assert.equal(checksum(out, 54, 32, pseudoSum6(out, 22, 38, 58, 32)), 0, 'checksum verifies to zero');
});

test('NeighbourResponder answers an ARP request for a VIP in place (scapy golden arp_reply) and passes others', () => {
  const cache = new NeighbourCache();
  const vips = new VipSet([ip('198.18.1.100')]);
  const r = new NeighbourResponder(vips, cache, () => DIR);
  const req = fromHex(GOLDEN.in_arpreq);
  const buf = new Uint8Array(128);
  buf.set(req);
  assert.equal(r.handle(buf, 0, req.length, 128, 3, 0), NEIGH_REPLIED);
  assert.equal(toHex(buf, 0, r.replyLen), GOLDEN.arp_reply);
  const other = new NeighbourResponder(new VipSet([ip('198.18.1.101')]), cache, () => DIR);
  buf.set(req);
  assert.equal(other.handle(buf, 0, req.length, 128, 3, 0), NEIGH_PASS);
  const tcp = fromHex(GOLDEN.in_big);
  assert.equal(r.handle(tcp, 0, tcp.length, tcp.length, 3, 0), NEIGH_PASS);
});

test('NeighbourResponder answers a neighbour solicitation for an IPv6 VIP (scapy golden na_reply)', () => {
  const r = new NeighbourResponder(new VipSet([ip('2001:db8:2::100')]), new NeighbourCache(), () => DIR);
  const ns = fromHex(GOLDEN.in_ns);
  const buf = new Uint8Array(256);
  buf.set(ns);
  assert.equal(r.handle(buf, 0, ns.length, 256, 3, 0), NEIGH_REPLIED);
  assert.equal(toHex(buf, 0, r.replyLen), GOLDEN.na_reply);
});

test('NeighbourResponder learns the sender of an ARP reply addressed to us', () => {
  const cache = new NeighbourCache();
  const r = new NeighbourResponder(new VipSet([]), cache, () => DIR);
  // The golden reply is from DIR to the requester; turn it around: a reply from 198.18.2.20 (RSM) to DIR.
  const rep = new Uint8Array(42);
  buildArpRequest(rep, 0, new Uint8Array([2, 0, 0, 0, 0, 3]), ip('198.18.2.20').bytes, ip('198.18.2.1').bytes);
  rep[21] = 2; // opcode reply
  rep.set(DIR, 32); // target hardware address = us
  assert.equal(r.handle(rep, 0, 42, 42, 5, 7), NEIGH_PASS);
  const n = cache.get(ip('198.18.2.20'))!;
  assert.deepEqual([n.ifIndex, Array.from(n.mac), n.source], [5, [2, 0, 0, 0, 0, 3], 'learned']);
});

const key = (protocol: 'tcp' | 'udp', addr: string, port: number) => ({ kind: 'addr' as const, protocol, addr: ip(addr), port });
const dest = (addr: string, port: number, method: 'droute' | 'masq' | 'fullnat') =>
  ({ addr: ip(addr), port, method, weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip' as const, tunPort: 0, tunCsum: 'nocsum' as const });
const svc = (k: ReturnType<typeof key>): TableOp => ({ op: 'add-service', service: { key: k, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff } });

test('ServiceModel: VIP ports, distinct VIPs, masq and fullnat reply sources follow the ops', () => {
  const m = new ServiceModel();
  const web = key('tcp', '198.18.0.100', 80);
  const dns = key('udp', '198.18.0.100', 53);
  m.apply([svc(web), svc(dns), { op: 'add-dest', key: web, dest: dest('198.18.1.1', 8080, 'masq') },
    { op: 'add-dest', key: web, dest: dest('198.18.1.2', 80, 'droute') }, { op: 'add-dest', key: dns, dest: dest('198.18.1.3', 53, 'fullnat') }]);
  assert.deepEqual(m.vipPorts().map((v) => `${v.proto}/${v.port}`), ['6/80', '17/53']);
  assert.equal(m.vips().length, 1);
  assert.deepEqual(m.replySources('masq').map((x) => `${x.proto}/${x.port}`), ['6/8080']);
  assert.deepEqual(m.replySources('fullnat').map((x) => `${x.proto}/${x.port}`), ['17/53']);
  m.apply([{ op: 'delete-dest', key: web, addr: ip('198.18.1.1'), port: 8080 }, { op: 'delete-service', key: dns }]);
  assert.deepEqual([m.replySources('masq'), m.replySources('fullnat')], [[], []]);
  m.apply([{ op: 'flush' }]);
  assert.deepEqual(m.vipPorts(), []);
});

/** The exclusion both renderRuleset tests render, and the sets it declares whatever the hook. */
const SPEC = {
  devices: ['eth0'], vipPorts: [{ addr: ip('198.18.0.100'), proto: 6, port: 80 }, { addr: ip('2001:db8::100'), proto: 17, port: 0 }],
  vips: [ip('198.18.0.100'), ip('2001:db8::100')], masqReplies: [{ addr: ip('198.18.1.1'), proto: 6, port: 8080 }],
  fullnatReplies: [], fullnatPorts: { min: 40000, max: 49999 }, localAddrs: [ip('198.18.0.2')],
};
/** Every rendering starts by deleting our tables in every family (a change of hook leaves nothing behind). */
const DROP_TABLES = [
  'table inet tsvs_t {}', 'delete table inet tsvs_t', 'table arp tsvs_t {}', 'delete table arp tsvs_t',
  'table netdev tsvs_t {}', 'delete table netdev tsvs_t',
];
const SPEC_SETS = [
  '  set svc4 { type ipv4_addr . inet_proto . inet_service; elements = { 198.18.0.100 . 6 . 80 } }',
  '  set vipany6 { type ipv6_addr . inet_proto; elements = { 2001:db8::100 . 17 } }',
  '  set masq4 { type ipv4_addr . inet_proto . inet_service; elements = { 198.18.1.1 . 6 . 8080 } }',
  '  set local4 { type ipv4_addr; elements = { 198.18.0.2 } }',
  '  set fnat4 { type ipv4_addr . inet_proto . inet_service; }',
];

/** Rules of SPEC's chain whichever hook it sits on. */
const SPEC_RULES = [
  '    icmpv6 type nd-neighbor-solicit @th,64,128 0x20010db8000000000000000000000100 drop',
  // Small sets: one compare rule per element (cheaper than a set lookup for every packet).
  '    ip saddr 198.18.1.1 meta l4proto 6 th sport 8080 ip daddr != @local4 drop',
  '    ip6 daddr 2001:db8::100 meta l4proto 17 drop',
];

/** The ruleset for one more VIP port and full-NAT reply than SMALL_SET (set lookups), with its set lines checked. */
function bigRuleset(devices: string[], hook?: 'prerouting'): string[] {
  const many = Array.from({ length: SMALL_SET + 1 }, (_, i) => ({ addr: ip(`198.18.1.${i + 1}`), proto: 17, port: 53 }));
  const big = renderRuleset('tsvs_t', {
    devices, vipPorts: many, vips: [], masqReplies: [], fullnatReplies: many,
    fullnatPorts: { min: 40000, max: 49999 }, localAddrs: [ip('198.18.0.2')],
  }, hook).split('\n');
  assert.ok(big.includes('    ip saddr . meta l4proto . th sport @fnat4 ip daddr @local4 th dport 40000-49999 drop'));
  assert.ok(big.includes(`  set svc4 { type ipv4_addr . inet_proto . inet_service; elements = { ${many.map((x) => `${x.addr.bytes.join('.')} . 17 . 53`).join(', ')} } }`));
  return big;
}

test('renderRuleset (ingress, for taps): one atomic replace of our tables, sets and one netdev ingress chain per device', () => {
  const text = renderRuleset('tsvs_t', SPEC);
  const lines = text.split('\n');
  // Tables of ours in every family go first (a change of hook leaves nothing behind).
  assert.deepEqual(lines.slice(0, 7), [...DROP_TABLES, 'table netdev tsvs_t {']);
  for (const want of [
    ...SPEC_SETS, ...SPEC_RULES,
    '    type filter hook ingress device "eth0" priority -500; policy accept;',
    '    arp operation request arp daddr ip 198.18.0.100 drop',
  ]) assert.ok(lines.includes(want), `missing: ${want}`);
  // Service traffic, the common case, matches the first rule; rules over empty sets are left out.
  const chain = lines.indexOf('    type filter hook ingress device "eth0" priority -500; policy accept;');
  assert.equal(lines[chain + 1], '    ip daddr 198.18.0.100 meta l4proto 6 th dport 80 drop');
  assert.ok(!text.includes('@fnat4 ip daddr') && !text.includes('@svc6') && !text.includes('@vipany4'), 'rules over empty sets');
  // Larger sets: one lookup.
  const big = bigRuleset(['eth0']);
  assert.equal(big[big.indexOf('    type filter hook ingress device "eth0" priority -500; policy accept;') + 1], '    ip daddr . meta l4proto . th dport @svc4 drop');
});

test('renderRuleset (prerouting, for bound sockets): inet and arp tables, one prerouting chain for the devices', () => {
  const text = renderRuleset('tsvs_t', SPEC, 'prerouting');
  const lines = text.split('\n');
  assert.deepEqual(lines.slice(0, 7), [...DROP_TABLES, 'table inet tsvs_t {']);
  for (const want of [...SPEC_SETS, ...SPEC_RULES, '    type filter hook prerouting priority -500; policy accept;']) {
    assert.ok(lines.includes(want), `missing: ${want}`);
  }
  // Other devices leave at the first rule; then service traffic, the common case, matches first;
  // rules over empty sets are left out.
  const chain = lines.indexOf('    type filter hook prerouting priority -500; policy accept;');
  assert.deepEqual(lines.slice(chain + 1, chain + 3), ['    iifname != "eth0" accept', '    ip daddr 198.18.0.100 meta l4proto 6 th dport 80 drop']);
  assert.ok(!text.includes('@fnat4 ip daddr') && !text.includes('@svc6') && !text.includes('@vipany4'), 'rules over empty sets');
  // ARP requests for IPv4 VIPs, in the arp family's input hook.
  const arp = lines.indexOf('table arp tsvs_t {');
  assert.deepEqual(lines.slice(arp + 1, arp + 7), [
    '  chain in {', '    type filter hook input priority -500; policy accept;', '    iifname != "eth0" accept',
    '    arp operation request arp daddr ip 198.18.0.100 drop', '  }', '}',
  ]);
  // Larger sets: one lookup; several devices: one set of names.
  const big = bigRuleset(['eth0', 'eth1'], 'prerouting');
  const bigChain = big.indexOf('    type filter hook prerouting priority -500; policy accept;');
  assert.deepEqual(big.slice(bigChain + 1, bigChain + 3), ['    iifname != { "eth0", "eth1" } accept', '    ip daddr . meta l4proto . th dport @svc4 drop']);
  // No IPv4 VIP: an empty arp chain (no rule at all, not even the device filter).
  const arpBig = big.indexOf('  chain in {');
  assert.deepEqual(big.slice(arpBig + 1, arpBig + 3), ['    type filter hook input priority -500; policy accept;', '  }']);
  assert.throws(() => renderRuleset('t', { devices: [], vipPorts: [], vips: [], masqReplies: [], fullnatReplies: [], localAddrs: [] }, 'prerouting'), /without devices/);
  assert.throws(() => renderRuleset('bad name', { devices: [], vipPorts: [], vips: [], masqReplies: [], fullnatReplies: [], localAddrs: [] }), /nft table name/);
  assert.throws(() => renderRuleset('t', { devices: ['eth0"; flush ruleset'], vipPorts: [], vips: [], masqReplies: [], fullnatReplies: [], localAddrs: [] }), /not a valid interface name/);
});

test('merge sums worker snapshots by service key, destination and drop reason', () => {
  const k = key('tcp', '198.18.0.100', 80);
  const st = (n: number) => ({ conns: n, inPkts: 10 * n, outPkts: 0, inBytes: 100 * n, outBytes: 0 });
  const w = (index: number, n: number): WorkerSnapshot => ({
    index, atMs: 0, neighbours: 0, io: { ...newIoCounters(), rxFrames: n, lastTxErrno: index === 1 ? 105 : 0 },
    engine: { services: [{ key: k, stats: st(n), dests: [{ addr: ip('198.18.1.1'), port: 80, stats: st(n), activeConns: n, inactConns: 1, persistConns: 0 }] }],
      total: st(n), drops: { 'no-dest': n }, conns: n },
  });
  const m = merge([w(0, 1), w(1, 2)]);
  assert.deepEqual(m.engine.total, st(3));
  assert.deepEqual(m.engine.drops, { 'no-dest': 3 });
  assert.equal(m.engine.services.length, 1);
  assert.deepEqual(m.engine.services[0].dests[0].stats, st(3));
  assert.equal(m.engine.services[0].dests[0].activeConns, 3);
  assert.equal(m.engine.services[0].dests[0].inactConns, 2);
  assert.equal(m.io.rxFrames, 3);
  assert.equal(m.io.lastTxErrno, 105);
});
