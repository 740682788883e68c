// Packet plane lifecycle and scaling, as root in network namespaces: cleanup after a crash, N
// workers with PACKET_FANOUT, and the refusal of NAT destinations with more than one worker
// (docs/adr/0003-packet-plane.md).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TableOp } from '../../src/control/director-api.js';
import { formatIp } from '../../src/core/net/addr.js';
import type { PlaneSnapshot } from '../../src/dataplane/packet/plane.js';
import { tcxUnavailable } from '../../src/dataplane/packet/xdp/fast-path.js';
import { DirectorHost, DrTopology, Procs, fixture, nsRun, packetSkipReason, sh, waitFor } from './helpers.js';
import { ip } from './fixtures/wire.js';

const skip = packetSkipReason();
const TABLE = 'tsvs_pio_lc';

function udpService(port: number, vip = DrTopology.VIP): TableOp[] {
  const key = { kind: 'addr' as const, protocol: 'udp' as const, addr: ip(vip), port };
  return [
    { op: 'add-service', service: { key, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff } },
    { op: 'add-dest', key, dest: { addr: ip(DrTopology.RIP), port, method: 'droute', weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0, tunCsum: 'nocsum' } },
  ];
}

// 16 UDP flows (one socket each) from the source addresses in argv[4] (comma-separated), in turn.
const FLOWS_CLIENT = `
import socket, sys
srcs = sys.argv[4].split(',')
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(16)]
for i, s in enumerate(socks):
    s.bind((srcs[i % len(srcs)], 0))
for r in range(int(sys.argv[3])):
    for i, s in enumerate(socks):
        s.sendto(b'%s-%d-%d' % (sys.argv[2].encode(), i, r), (sys.argv[1], 5353))
`;
const UDP_SERVER = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 5353))
while True:
    d, a = s.recvfrom(65535)
    print(d.decode(), flush=True)
`;

function tables(ns: string): string {
  return sh(`ip netns exec ${ns} nft list tables`);
}

describe('packet plane lifecycle and workers', { skip }, () => {
  const topo = new DrTopology('lc');
  const procs = new Procs();
  const hosts: DirectorHost[] = [];
  const newHost = () => {
    const h = new DirectorHost(topo.lb);
    hosts.push(h);
    return h;
  };
  const start = { interfaces: ['l0', 'l1'], announceInterfaces: ['l0'], engineModule: fixture('dr-engine'), nftTable: TABLE };

  before(() => {
    topo.up();
    // A static neighbour for the real server: no resolution drops in these tests.
    sh(`ip -n ${topo.lb} neigh replace ${DrTopology.RIP} lladdr 02:00:00:00:02:00 dev l1 nud permanent`);
  });

  after(async () => {
    for (const h of hosts) await h.close();
    procs.killAll();
    topo.down();
  });

  test('a plane killed with SIGKILL leaves its nft table; the next start replaces it and stop removes it', async () => {
    const h1 = newHost();
    await h1.call('start', { ...start, ops: udpService(5353) });
    assert.match(tables(topo.lb), new RegExp(`table netdev ${TABLE}`));
    await h1.kill();
    assert.match(tables(topo.lb), new RegExp(`table netdev ${TABLE}`), 'a crash leaves the rules behind');
    const h2 = newHost();
    await h2.call('start', { ...start, ops: udpService(5353) });
    assert.equal(tables(topo.lb).split('\n').filter((l) => l.includes(TABLE)).length, 1);
    await h2.call('stop');
    assert.doesNotMatch(tables(topo.lb), new RegExp(TABLE));
  });

  test('two workers in one PACKET_FANOUT group, by client address: 8 clients spread over both, one client stays on one, a neighbour one learns is shared, counters merge', async () => {
    // No static neighbour now: one worker's ARP answer must serve both.
    sh(`ip -n ${topo.lb} neigh del ${DrTopology.RIP} dev l1`);
    // Eight clients; the fanout program's hash (fanout.ts, mirrored in fanout.test.ts) puts
    // .11, .15, .16 and .19 on one worker and .12, .13, .14 and .17 on the other.
    const clients = ['198.18.0.11', '198.18.0.12', '198.18.0.13', '198.18.0.14', '198.18.0.15', '198.18.0.16', '198.18.0.17', '198.18.0.19'];
    for (const c of clients) sh(`ip -n ${topo.cli} addr add ${c}/24 dev c0`);
    const sink = procs.start(topo.rs, ['python3', '-c', UDP_SERVER]);
    const h = newHost();
    await h.call('start', { ...start, workers: 2, ops: udpService(5353) });
    await new Promise((r) => setTimeout(r, 300)); // the sink binds
    const flows = async (tag: string, rounds: number, srcs: readonly string[]) => {
      const r = await nsRun(topo.cli, ['python3', '-c', FLOWS_CLIENT, DrTopology.VIP, tag, String(rounds), srcs.join(',')]);
      assert.equal(r.code, 0, r.stderr);
    };
    const arrived = async (tag: string, n: number) => {
      const end = Date.now() + 5000;
      const count = () => sink.out().split('\n').filter((l) => l.startsWith(`${tag}-`)).length;
      while (Date.now() < end && count() < n) await new Promise((res) => setTimeout(res, 50));
      assert.equal(count(), n, `${tag}: every datagram reached the real server`);
    };
    // The real server's MAC is unknown at first: each worker holds its first datagrams until an
    // ARP answer (its own, or one another worker learned) names it (held-frames.ts).
    await flows('warm', 1, clients);
    await arrived('warm', 16);
    await flows('flow', 5, clients);
    await arrived('flow', 80);
    const s = await h.call<PlaneSnapshot>('snapshot');
    assert.equal(s.workers.length, 2);
    assert.equal(s.engine.total.inPkts, 96);
    assert.equal(s.engine.drops['no-neighbour'] ?? 0, 0);
    assert.ok(s.io.neighReleased > 0 && s.io.neighHeldDropped === 0, `held ${s.io.neighHeld}, released ${s.io.neighReleased}, dropped ${s.io.neighHeldDropped}`);
    assert.equal(s.engine.services[0].stats.conns, 32, 'each flow (16 warm-up, 16 measured) stays on one worker: counted once');
    const per = s.workers.map((w) => w.engine.services[0]?.stats.conns ?? 0);
    assert.deepEqual(per, [16, 16], `four clients (four flows each) per worker: ${per.join(' + ')}`);
    // One client, 16 flows from 16 source ports: one worker takes them all, so the client's
    // persistence template and its connections are in one engine.
    await flows('one', 1, ['198.18.0.11']);
    await arrived('one', 16);
    const s2 = await h.call<PlaneSnapshot>('snapshot');
    const grew = s2.workers.map((w, i) => (w.engine.services[0]?.stats.conns ?? 0) - per[i]!);
    assert.deepEqual([...grew].sort((a, b) => a - b), [0, 16], `a client's 16 flows on one worker: ${grew.join(' + ')}`);
    // A VIP added at run time: the workers swap a program that knows it into their groups (else
    // its packets would go by their destination, all to one worker).
    const added = await h.call<{ ok: boolean; error?: string }>('applyOps', { ops: udpService(5353, DrTopology.VIP2) });
    assert.equal(added.ok, true, added.error);
    await nsRun(topo.cli, ['python3', '-c', FLOWS_CLIENT, DrTopology.VIP2, 'vip2', '1', clients.join(',')]);
    await arrived('vip2', 16);
    const s3 = await h.call<PlaneSnapshot>('snapshot');
    const onVip2 = s3.workers.map((w) => w.engine.services.find((x) => x.key.kind === 'addr' && formatIp(x.key.addr) === DrTopology.VIP2)?.stats.conns ?? 0);
    assert.deepEqual(onVip2, [8, 8], `the new VIP's clients spread by source: ${onVip2.join(' + ')}`);
    await h.call('stop');
    assert.doesNotMatch(tables(topo.lb), new RegExp(TABLE));
  });

  test('workers that fail after start are restarted: traffic flows again, through new workers with no connections yet and the table as it was (a service added after start included)', async () => {
    procs.killAll(); // the previous test's sink holds the port
    const sink = procs.start(topo.rs, ['python3', '-c', UDP_SERVER]);
    const h = newHost();
    // No periodic refresh: the test's own refreshFacts must be the one that sees the change.
    await h.call('start', { ...start, workers: 2, ops: udpService(5353), engineOptions: { failOnNetChange: true }, factsRefreshMs: 3_600_000 });
    await new Promise((r) => setTimeout(r, 300)); // the sink binds
    const send = async (tag: string, vip = DrTopology.VIP) => {
      const r = await nsRun(topo.cli, ['python3', '-c', FLOWS_CLIENT, vip, tag, '1', '198.18.0.1']);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(`${tag} at the real server`, () => sink.out().split('\n').some((l) => l.startsWith(`${tag}-`)));
    };
    const conns = (s: PlaneSnapshot) => s.workers.reduce((n, w) => n + (w.engine.services[0]?.stats.conns ?? 0), 0);
    await send('before');
    const first = await h.call<PlaneSnapshot>('snapshot');
    assert.ok(conns(first) >= 1);
    const total = (s: PlaneSnapshot) => s.engine.services.find((x) => x.key.kind === 'addr' && formatIp(x.key.addr) === DrTopology.VIP)?.stats.conns ?? 0;
    const added = await h.call<{ ok: boolean; error?: string }>('applyOps', { ops: udpService(5353, DrTopology.VIP2) });
    assert.equal(added.ok, true, added.error);
    // A network change the test engine throws on: both workers fail in their control path.
    sh(`ip -n ${topo.lb} addr add 198.18.1.77/24 dev l1`);
    try {
      assert.equal(await h.call('refreshFacts'), true);
      let after: PlaneSnapshot | undefined;
      await waitFor('the restarted workers answer', async () => {
        after = await h.call<PlaneSnapshot>('snapshot').catch(() => undefined);
        return after !== undefined && after.workers.length === 2 && conns(after) === 0;
      }, 10_000);
      // The service's counters go on from what the failed set left.
      assert.ok(total(after!) >= total(first), `service conns ${total(after!)} after the restart, ${total(first)} before`);
      await send('after');
      await send('after-vip2', DrTopology.VIP2);
      assert.ok(conns(await h.call<PlaneSnapshot>('snapshot')) >= 1, 'the new workers forward');
      await h.call('stop');
      assert.doesNotMatch(tables(topo.lb), new RegExp(TABLE));
    } finally {
      await h.close();
      sh(`ip -n ${topo.lb} addr del 198.18.1.77/24 dev l1 2>/dev/null; true`);
    }
  });

  test('tc mode refuses a bridge port (its bridge takes the frames before bound sockets), naming the bridge; nothing is left installed', { skip: tcxUnavailable() ?? false }, async () => {
    sh(`ip -n ${topo.lb} link add tcport0 type veth peer name tcport1 && ip -n ${topo.lb} link add tcbr0 type bridge && ip -n ${topo.lb} link set tcport0 master tcbr0`);
    try {
      const h = newHost();
      await assert.rejects(h.call('start', { ...start, interfaces: ['tcport0'], announceInterfaces: ['tcport0'], offload: { mode: 'tc', maxFlows: 64 } }),
        /Cannot capture 'tcport0' with the tc fast path: it is a port of 'tcbr0'.*capture 'tcbr0' instead/);
      await h.close();
      assert.doesNotMatch(tables(topo.lb), new RegExp(TABLE));
    } finally {
      sh(`ip -n ${topo.lb} link del tcport0 2>/dev/null; ip -n ${topo.lb} link del tcbr0 2>/dev/null; true`);
    }
  });
});
