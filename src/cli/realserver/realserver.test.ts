import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySysNet } from '../../control/sysnet/memory.js';
import type { MemorySysNetInit } from '../../control/sysnet/memory.js';
import type { ProcessRecord } from '../../control/sysnet/process.js';
import { newState, realserverDown, realserverUp } from './realserver.js';
import type { DecapLauncher, RsDeps, UpOptions } from './realserver.js';
import type { RsState } from './state.js';
import { realserverStatus } from './status.js';

const VIP = '198.18.1.100';

/** A real server as a fresh Debian box has it: eth0 with its address and default route, all ARP/rp knobs 0. */
function rs(extra: Partial<MemorySysNetInit> = {}): MemorySysNet {
  return new MemorySysNet({
    netns: 'rs1',
    links: [{ ifname: 'eth0', mac: '02:00:00:00:00:11' }],
    addresses: [{ ifname: 'eth0', family: 'inet', local: '198.18.1.11', prefixlen: 24 }],
    routes: [{ dst: 'default', gateway: '198.18.1.1', dev: 'eth0' }],
    ...extra,
  });
}

interface FakeLauncher extends DecapLauncher { started: unknown[]; stopped: number[]; live: Set<number> }

function fakeLauncher(): FakeLauncher {
  const live = new Set<number>();
  const l: FakeLauncher = {
    started: [], stopped: [], live,
    async start(spec) {
      l.started.push(spec);
      const p: ProcessRecord = { pid: 4242, startTime: '77', argv: ['decap'] };
      live.add(p.pid);
      return p;
    },
    running: (p) => live.has(p.pid),
    async stop(p) { l.stopped.push(p.pid); return live.delete(p.pid); },
  };
  return l;
}

function deps(net: MemorySysNet, launcher = fakeLauncher()): RsDeps & { lines: string[]; saves: number } {
  const d = { net, launcher, lines: [] as string[], saves: 0, say: (l: string) => { d.lines.push(l); }, persist: () => { d.saves++; } };
  return d;
}

async function up(net: MemorySysNet, o: UpOptions, d = deps(net)): Promise<RsState> {
  return realserverUp(d, newState(net.netns, o.mode), o);
}

async function snapshot(net: MemorySysNet): Promise<{ sysctls: [string, string][]; addrs: unknown; links: unknown }> {
  return { sysctls: [...net.sysctls.entries()].sort(), addrs: await net.addresses(), links: await net.links() };
}

test('realserver up dr writes arp_ignore=1/arp_announce=2 on all, eth0, lo before adding the VIP /32 on lo (spec §3.2)', async () => {
  const net = rs();
  const st = await up(net, { mode: 'dr', vips: [VIP] });
  assert.deepEqual(net.log, [
    'sysctl net.ipv4.conf.all.arp_ignore=1',
    'sysctl net.ipv4.conf.all.arp_announce=2',
    'sysctl net.ipv4.conf.eth0.arp_ignore=1',
    'sysctl net.ipv4.conf.eth0.arp_announce=2',
    'sysctl net.ipv4.conf.lo.arp_ignore=1',
    'sysctl net.ipv4.conf.lo.arp_announce=2',
    'addr add 198.18.1.100/32 dev lo',
  ]);
  assert.equal(st.iface, 'eth0');
  assert.equal(st.vipDev, 'lo');
  assert.deepEqual(st.changes.filter((c) => c.kind === 'sysctl').map((c) => c.kind === 'sysctl' && [c.key, c.previous, c.value]), [
    ['net.ipv4.conf.all.arp_ignore', '0', '1'], ['net.ipv4.conf.all.arp_announce', '0', '2'],
    ['net.ipv4.conf.eth0.arp_ignore', '0', '1'], ['net.ipv4.conf.eth0.arp_announce', '0', '2'],
    ['net.ipv4.conf.lo.arp_ignore', '0', '1'], ['net.ipv4.conf.lo.arp_announce', '0', '2'],
  ]);
});

test('realserver down after dr up restores exactly the previous sysctls and addresses, in reverse order', async () => {
  const net = rs();
  const before = await snapshot(net);
  const d = deps(net);
  const st = await up(net, { mode: 'dr', vips: [VIP, '2001:db8::100'] }, d);
  net.log.length = 0;
  assert.deepEqual(await realserverDown(d, st), []);
  assert.deepEqual(net.log, [
    'addr del 2001:db8::100/128 dev lo',
    'addr del 198.18.1.100/32 dev lo',
    'sysctl net.ipv4.conf.lo.arp_announce=0',
    'sysctl net.ipv4.conf.lo.arp_ignore=0',
    'sysctl net.ipv4.conf.eth0.arp_announce=0',
    'sysctl net.ipv4.conf.eth0.arp_ignore=0',
    'sysctl net.ipv4.conf.all.arp_announce=0',
    'sysctl net.ipv4.conf.all.arp_ignore=0',
  ]);
  assert.deepEqual(await snapshot(net), before);
});

test('realserver up leaves stricter operator values alone and does not record them; down does not touch them', async () => {
  const net = rs({ sysctls: { 'net.ipv4.conf.all.arp_ignore': '2', 'net.ipv4.conf.eth0.arp_announce': '2' } });
  const d = deps(net);
  const st = await up(net, { mode: 'dr', vips: [VIP] }, d);
  assert.equal(net.log.some((l) => l.startsWith('sysctl net.ipv4.conf.all.arp_ignore')), false);
  assert.equal(net.log.some((l) => l.startsWith('sysctl net.ipv4.conf.eth0.arp_announce')), false);
  await realserverDown(d, st);
  assert.equal(net.sysctls.get('net.ipv4.conf.all.arp_ignore'), '2');
  assert.equal(net.sysctls.get('net.ipv4.conf.eth0.arp_announce'), '2');
  assert.equal(net.sysctls.get('net.ipv4.conf.eth0.arp_ignore'), '0');
});

test('realserver up twice is idempotent: the second run changes and records nothing', async () => {
  const net = rs();
  const d = deps(net);
  const st = await up(net, { mode: 'dr', vips: [VIP] }, d);
  const n = st.changes.length;
  net.log.length = 0;
  await realserverUp(d, st, { mode: 'dr', vips: [VIP] });
  assert.deepEqual(net.log, []);
  assert.equal(st.changes.length, n);
});

test('realserver down leaves a sysctl someone changed after up alone', async () => {
  const net = rs();
  const d = deps(net);
  const st = await up(net, { mode: 'dr', vips: [VIP] }, d);
  await net.setSysctl('net.ipv4.conf.eth0.arp_ignore', '3');
  await realserverDown(d, st);
  assert.equal(net.sysctls.get('net.ipv4.conf.eth0.arp_ignore'), '3');
  assert.ok(d.lines.some((l) => l.includes('net.ipv4.conf.eth0.arp_ignore is 3, not the 1 set by up')));
});

test('realserver up refuses a VIP already on an ARPing interface (it would steal the director\'s traffic)', async () => {
  const net = rs({ addresses: [{ ifname: 'eth0', family: 'inet', local: '198.18.1.11', prefixlen: 24 }, { ifname: 'eth0', family: 'inet', local: VIP, prefixlen: 24 }] });
  await assert.rejects(up(net, { mode: 'dr', vips: [VIP] }), /already on eth0, an interface that answers ARP/);
});

test('realserver up puts VIPs on dummy device tsvs-vip0 where the kernel has the dummy module', async () => {
  const net = rs({ modules: ['dummy'] });
  const d = deps(net);
  const st = await up(net, { mode: 'dr', vips: [VIP] }, d);
  assert.deepEqual(net.log.slice(-3), ['link add tsvs-vip0 type dummy', 'link set tsvs-vip0 up', 'addr add 198.18.1.100/32 dev tsvs-vip0']);
  await realserverDown(d, st);
  assert.equal((await net.links()).some((l) => l.ifname === 'tsvs-vip0'), false);
  assert.equal(net.sysctls.has('net.ipv4.conf.tsvs-vip0.arp_ignore'), false);
});

test('realserver up tun gue without kernel modules: TUN device, rp_filter loose on all + device, tsvs decapsulator (spec §3.3)', async () => {
  // Debian's strict default: all=1 and default=1, so a new device starts at 1 as well.
  const net = rs({ sysctls: { 'net.ipv4.conf.all.rp_filter': '1', 'net.ipv4.conf.default.rp_filter': '1', 'net.ipv4.conf.eth0.rp_filter': '1' } });
  const launcher = fakeLauncher();
  const d = deps(net, launcher);
  const st = await up(net, { mode: 'tun', vips: [VIP], tunType: 'gue', tunPort: 6080 }, d);
  assert.deepEqual(net.log.slice(6), [
    'link add tsvs-decap0 type tun',
    'link set tsvs-decap0 up',
    'sysctl net.ipv4.conf.all.rp_filter=2',
    'sysctl net.ipv4.conf.tsvs-decap0.rp_filter=2',
    'addr add 198.18.1.100/32 dev tsvs-decap0',
  ]);
  assert.equal(net.sysctls.get('net.ipv4.conf.eth0.rp_filter'), '1', 'the LAN interface keeps its own setting');
  assert.deepEqual(launcher.started, [{ netns: 'rs1', tunType: 'gue', tunPort: 6080, dev: 'tsvs-decap0' }]);
  assert.equal(st.decap, 'tsvs');
  net.log.length = 0;
  await realserverDown(d, st);
  assert.deepEqual(launcher.stopped, [4242]);
  assert.ok(net.log.includes('link del tsvs-decap0'));
  assert.ok(net.log.includes('sysctl net.ipv4.conf.all.rp_filter=1'));
  assert.equal(net.log.some((l) => l.includes('tsvs-decap0.rp_filter')), false, 'settings of the deleted device are not restored');
});

test('realserver up tun leaves rp_filter alone where it is already 0 or 2 (only where needed)', async () => {
  const net = rs({ sysctls: { 'net.ipv4.conf.all.rp_filter': '2' } });
  await up(net, { mode: 'tun', vips: [VIP], tunType: 'ipip' });
  assert.equal(net.log.some((l) => l.includes('rp_filter')), false);
});

test('realserver up tun uses the kernel ipip/fou when they load: tunl0 up, fou port, no process', async () => {
  const net = rs({ modules: ['ipip', 'fou'], sysctls: { 'net.ipv4.conf.all.rp_filter': '1' } });
  const launcher = fakeLauncher();
  const d = deps(net, launcher);
  const st = await up(net, { mode: 'tun', vips: [VIP], tunType: 'gue', tunPort: 5555 }, d);
  assert.deepEqual(launcher.started, []);
  assert.equal(st.decapDev, 'tunl0');
  assert.ok(net.log.includes('link set tunl0 up'));
  assert.ok(net.log.includes('ip fou add port 5555 gue'));
  assert.ok(net.log.includes('addr add 198.18.1.100/32 dev tunl0'), 'the VIP goes on the decapsulating device');
  assert.ok(net.log.includes('sysctl net.ipv4.conf.all.rp_filter=2'));
  net.log.length = 0;
  await realserverDown(d, st);
  assert.ok(net.log.includes('ip fou del port 5555'));
  assert.ok(net.log.includes('link set tunl0 down'));
  assert.equal(net.sysctls.get('net.ipv4.conf.all.rp_filter'), '1');
});

test('realserver up tun gue without --tun-port is refused (spec §3.3: the port is mandatory)', async () => {
  await assert.rejects(up(rs(), { mode: 'tun', vips: [VIP], tunType: 'gue' }), /without --tun-port/);
});

test('realserver up nat --gateway replaces the default route via the director; down restores the old one (spec §3.1)', async () => {
  const net = rs();
  const d = deps(net);
  const st = await up(net, { mode: 'nat', vips: [], gateway: '198.18.1.2' }, d);
  assert.deepEqual(net.log, ['route replace default via 198.18.1.2 dev eth0']);
  assert.equal(net.log.some((l) => l.startsWith('sysctl')), false, 'NAT real servers need no ARP tweaks');
  net.log.length = 0;
  await realserverDown(d, st);
  assert.deepEqual(net.log, ['route replace default via 198.18.1.1 dev eth0']);
});

test('realserver status names each missing setting and why it matters', async () => {
  const net = rs({ sysctls: { 'net.ipv4.conf.all.rp_filter': '1' } });
  const missing = (await realserverStatus(net, { mode: 'dr', vips: [VIP] }, undefined, () => false)).filter((c) => c.level === 'missing').map((c) => c.text);
  assert.deepEqual(missing, [
    'VIP 198.18.1.100 is not configured: the kernel drops packets addressed to it (DR delivers them with the VIP unchanged as destination, spec §3.2/§3.3)',
    "arp_ignore on eth0 is 0 (all=0, eth0=0): this server answers ARP for the VIP and steals the director's traffic",
    'arp_announce on eth0 is 0 (all=0, eth0=0): ARP requests from this server may say "tell <VIP>", and the router then sends the VIP\'s traffic here',
  ]);
  const d = deps(net);
  const st = await up(net, { mode: 'tun', vips: [VIP], tunType: 'ipip' }, d);
  assert.deepEqual((await realserverStatus(net, { mode: 'tun', vips: [VIP] }, st, d.launcher.running)).map((c) => c.level), ['ok', 'ok', 'ok', 'ok', 'ok']);
  await net.setSysctl('net.ipv4.conf.all.rp_filter', '1');
  const after = (await realserverStatus(net, { mode: 'tun', vips: [VIP] }, st, d.launcher.running)).filter((c) => c.level === 'missing').map((c) => c.text);
  assert.deepEqual(after, ['rp_filter on tsvs-decap0 is 1 (strict; all=1, tsvs-decap0=0): decapsulated SYNs from clients arrive on tsvs-decap0 while the route back leaves via eth0, so the kernel drops them']);
});

test('realserver status tun: loose rp_filter on a decapsulating device without an IPv4 address is missing (the kernel rejects all)', async () => {
  const net = rs({ links: [{ ifname: 'eth0' }, { ifname: 'tsvs-decap0', kind: 'tun' }], sysctls: { 'net.ipv4.conf.all.rp_filter': '2' } });
  await net.addAddress('lo', '198.18.1.100/32');
  const st = { ...newState('rs1', 'tun'), decapDev: 'tsvs-decap0' };
  const missing = (await realserverStatus(net, { mode: 'tun', vips: [VIP] }, st, () => false)).filter((c) => c.level === 'missing').map((c) => c.text);
  assert.ok(missing.includes('rp_filter on tsvs-decap0 is 2 (loose; all=2, tsvs-decap0=0) but tsvs-decap0 has no IPv4 address: the kernel rejects every packet arriving there; put the VIP on tsvs-decap0 or use rp_filter 0'), missing.join('\n'));
});

test('realserver status nat: default route not via the director is missing', async () => {
  const checks = await realserverStatus(rs(), { mode: 'nat', vips: [], gateway: '198.18.1.2' }, undefined, () => false);
  assert.deepEqual(checks.map((c) => c.level), ['missing']);
  assert.match(checks[0]!.text, /not via the director 198\.18\.1\.2: replies bypass the director/);
});
