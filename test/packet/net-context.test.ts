// Linux facts -> NetContext: `ip -j` parsing, longest-prefix routes, neighbours, miss handling and
// the neighbour cache's rate limits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIp } from '../../src/core/net/addr.js';
import { NeighbourCache, parseIpNeigh } from '../../src/dataplane/packet/neighbour.js';
import { UNRESOLVED_MAC } from '../../src/dataplane/packet/held-frames.js';
import { LinuxNetContext, parseIpAddr, parseIpRoute, type NetFacts } from '../../src/dataplane/packet/net-context.js';
import { ip } from './fixtures/wire.js';

const ADDR = [
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, address: '00:00:00:00:00:00',
    addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }, { family: 'inet', local: '198.18.0.100', prefixlen: 32, scope: 'global' }] },
  { ifindex: 7, ifname: 'l0', flags: ['BROADCAST', 'UP'], mtu: 1500, address: '02:00:00:00:01:00',
    link_index: 2, link_netnsid: 3, linkinfo: { info_kind: 'veth' },
    addr_info: [{ family: 'inet', local: '198.18.0.2', prefixlen: 24, scope: 'global' }, { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }] },
  // A macvlan over a device of another namespace has link_netnsid too, but no peer to deliver into.
  { ifindex: 9, ifname: 'l1', flags: ['BROADCAST'], mtu: 9000, address: '02:00:00:00:01:01', master: 'br0',
    link_index: 4, link_netnsid: 3, linkinfo: { info_kind: 'macvlan' },
    addr_info: [{ family: 'inet', local: '198.18.1.2', prefixlen: 24, scope: 'global' },
      // Still in duplicate address detection, and failed it: not the interface's.
      { family: 'inet6', local: 'fe80::ff:fe00:101', prefixlen: 64, scope: 'link', tentative: true },
      { family: 'inet6', local: '2001:db8:1::2', prefixlen: 64, scope: 'global', dadfailed: true, tentative: true }] },
];
const ROUTE4 = [
  { dst: 'default', gateway: '198.18.0.1', dev: 'l0', flags: [] },
  { dst: '198.18.0.0/24', dev: 'l0', protocol: 'kernel', scope: 'link', prefsrc: '198.18.0.2', flags: [] },
  { dst: '198.18.1.0/24', dev: 'l1', protocol: 'kernel', scope: 'link', prefsrc: '198.18.1.2', flags: [] },
  { dst: '198.18.5.0/24', dev: 'l1', type: 'blackhole', flags: [] },
  { dst: '198.18.9.9', gateway: '198.18.1.50', dev: 'l1', flags: [] },
];
const NEIGH = [
  { dst: '198.18.0.1', dev: 'l0', lladdr: '02:00:00:00:00:c0', state: ['REACHABLE'] },
  { dst: '198.18.1.1', dev: 'l1', lladdr: '02:00:00:00:02:00', state: ['STALE'] },
  { dst: '198.18.1.3', dev: 'l1', state: ['FAILED'] },
  { dst: '198.18.1.4', dev: 'l1', lladdr: '02:00:00:00:02:04', state: ['FAILED'] },
];

function facts(): NetFacts {
  const interfaces = parseIpAddr(ADDR);
  const idx = (n: string) => interfaces.find((i) => i.name === n)?.ifIndex;
  return { interfaces, routes: parseIpRoute(ROUTE4, idx), neighbours: parseIpNeigh(NEIGH, idx) };
}

test('parseIpAddr reads index, name, MAC, MTU, UP, addresses (not those in or failed by DAD), the bridge or bond it is a port of, and a veth\'s peer', () => {
  const i = parseIpAddr(ADDR);
  assert.deepEqual(i.map((x) => [x.ifIndex, x.name, x.mtu, x.up, x.addrs.map((a) => `${formatIp(a.addr)}/${a.prefixLen}`), x.master, x.vethPeer]), [
    [1, 'lo', 65536, true, ['127.0.0.1/8', '198.18.0.100/32'], undefined, undefined],
    [7, 'l0', 1500, true, ['198.18.0.2/24', 'fe80::1/64'], undefined, { nsid: 3, ifIndex: 2 }],
    [9, 'l1', 9000, false, ['198.18.1.2/24'], 'br0', undefined],
  ]);
  assert.deepEqual(Array.from(i[1].mac), [2, 0, 0, 0, 1, 0]);
});

test('parseIpRoute keeps unicast routes (default = /0, host route = /32) and drops blackholes', () => {
  const r = facts().routes.map((x) => `${formatIp(x.dst)}/${x.prefixLen} ${x.gateway ? formatIp(x.gateway) : '-'} ${x.ifIndex}`);
  assert.deepEqual(r, ['0.0.0.0/0 198.18.0.1 7', '198.18.0.0/24 - 7', '198.18.1.0/24 - 9', '198.18.9.9/32 198.18.1.50 9']);
});

test('parseIpNeigh keeps entries with a usable state and a MAC only', () => {
  assert.deepEqual(facts().neighbours.map((n) => formatIp(n.addr)), ['198.18.0.1', '198.18.1.1']);
});

test('nextHop: on-link destination uses its own neighbour, the interface MAC/MTU and the prefsrc', () => {
  const ctx = new LinuxNetContext(facts(), new NeighbourCache(), () => assert.fail('no miss expected'));
  const h = ctx.nextHop(ip('198.18.1.1'))!;
  assert.equal(h.ifIndex, 9);
  assert.deepEqual(Array.from(h.mac), [2, 0, 0, 0, 2, 0]);
  assert.equal(formatIp(h.src), '198.18.1.2');
  assert.equal(h.mtu, 9000);
  assert.equal(ctx.nextHop(ip('198.18.1.1')), h, 'the same object is reused (no allocation per packet)');
});

test('nextHop: the longest prefix wins over the default route; off-link goes via the gateway', () => {
  const ctx = new LinuxNetContext(facts(), new NeighbourCache(), () => assert.fail('no miss expected'));
  const h = ctx.nextHop(ip('203.0.113.7'))!;
  assert.equal(h.ifIndex, 7);
  assert.deepEqual(Array.from(h.mac), [2, 0, 0, 0, 0, 0xc0]);
});

test('nextHop: a missing neighbour asks the data plane to resolve the gateway, and gives a pending hop (cached, asking again each time)', () => {
  const misses: string[] = [];
  const ctx = new LinuxNetContext(facts(), new NeighbourCache(), (a, i, key) => misses.push(`${formatIp(a)}@${i} ${key}`));
  const viaGw = ctx.nextHop(ip('198.18.9.9'))!;
  assert.deepEqual([Array.from(viaGw.mac), viaGw.ifIndex], [Array.from(UNRESOLVED_MAC), 9]);
  const p = ctx.takePending()!;
  assert.equal(p, viaGw);
  assert.deepEqual([formatIp(p.via), p.viaKey, p.key], ['198.18.1.50', '198.18.1.50', '9/198.18.1.50']);
  assert.equal(ctx.takePending(), undefined, 'taken');
  const first = ctx.nextHop(ip('198.18.1.77'))!;
  assert.equal(first.mac, UNRESOLVED_MAC);
  ctx.takePending();
  const second = ctx.nextHop(ip('198.18.1.77'));
  assert.equal(second, first, 'the same pending object on the next frame: no allocation per packet');
  assert.equal(ctx.takePending(), second);
  const k = (a: string) => `${a}@9 ${a}`;
  assert.deepEqual(misses, [k('198.18.1.50'), k('198.18.1.77'), k('198.18.1.77')], 'each frame asks again (rate limited), with the key made once');
  assert.equal(ctx.nextHop(ip('2001:db8::1')), undefined, 'no IPv6 route at all: no miss either');
  assert.equal(ctx.takePending(), undefined);
  assert.equal(misses.length, 3);
});

test('a solicited ARP answer fills the cache and invalidates cached misses', () => {
  const cache = new NeighbourCache();
  const ctx = new LinuxNetContext(facts(), cache, (a, i) => cache.request(a, i, 0));
  assert.equal(ctx.nextHop(ip('198.18.1.77'))!.mac, UNRESOLVED_MAC);
  assert.equal(cache.learn(ip('198.18.1.77'), 9, new Uint8Array([2, 0, 0, 0, 2, 0x77]), 10, true), true);
  assert.deepEqual(Array.from(ctx.nextHop(ip('198.18.1.77'))!.mac), [2, 0, 0, 0, 2, 0x77]);
});

test('isLocal knows every address of every interface, lo included', () => {
  const ctx = new LinuxNetContext(facts(), new NeighbourCache(), () => undefined);
  assert.equal(ctx.isLocal(ip('198.18.0.100')), true);
  assert.equal(ctx.isLocal(ip('fe80::1')), true);
  assert.equal(ctx.isLocal(ip('198.18.0.1')), false);
});

test('neighbour resolution: one request per address per second, and at most perSecond overall', () => {
  const c = new NeighbourCache({ perAddressMs: 1000, perSecond: 3, learnedTtlMs: 1000 });
  assert.equal(c.request(ip('198.18.1.10'), 9, 0), true);
  assert.equal(c.request(ip('198.18.1.10'), 9, 999), false);
  assert.equal(c.request(ip('198.18.1.11'), 9, 999), true);
  assert.equal(c.request(ip('198.18.1.12'), 9, 999), true);
  assert.equal(c.request(ip('198.18.1.13'), 9, 999), false, 'budget of 3 spent');
  assert.equal(c.limited, 1);
  assert.equal(c.request(ip('198.18.1.10'), 9, 1000), true, 'a new second and a new per-address slot');
  assert.deepEqual(c.drain().map((r) => formatIp(r.addr)), ['198.18.1.10', '198.18.1.11', '198.18.1.12', '198.18.1.10']);
  assert.deepEqual(c.drain(), []);
});

test('neighbour learning: unsolicited announcements only update known or asked-for addresses; learned entries expire', () => {
  const c = new NeighbourCache({ perAddressMs: 1000, perSecond: 10, learnedTtlMs: 1000 });
  const mac = new Uint8Array([2, 0, 0, 0, 0, 9]);
  assert.equal(c.learn(ip('198.18.1.9'), 9, mac, 0, false), false);
  c.request(ip('198.18.1.9'), 9, 0);
  assert.equal(c.learn(ip('198.18.1.9'), 9, mac, 5, false), true);
  c.expire(1005);
  assert.ok(c.get(ip('198.18.1.9')));
  c.expire(1006);
  assert.equal(c.get(ip('198.18.1.9')), undefined);
});
