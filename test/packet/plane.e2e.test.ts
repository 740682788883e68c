// The packet plane end to end, as root in network namespaces (docs/adr/0003-packet-plane.md): a
// director running PacketPlane with the tiny DR test engine forwards real UDP and TCP traffic from a
// client to a real server; tsvs answers ARP for the VIP and the nft rules keep the kernel out even
// with the VIP on the director's lo and ip_forward=1; partial checksums and GSO superframes from
// local senders arrive correct; table operations and snapshots go through the worker protocol; stop
// removes the rules. All of it twice: with ETH_P_ALL taps and netdev ingress rules (the default),
// and in tc mode, with protocol-bound sockets and prerouting/ARP rules (ADR 0005). The test engine
// offloads no flow, so the tc program forwards nothing here: the lab's "DR with the tc fast path"
// (test/lab/modes.test.ts) is where offloaded packets are counted.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TableOp } from '../../src/control/director-api.js';
import type { ConnPage, OpsResult } from '../../src/dataplane/packet/worker-protocol.js';
import type { PlaneSnapshot } from '../../src/dataplane/packet/plane.js';
import { tcxUnavailable } from '../../src/dataplane/packet/xdp/fast-path.js';
import { DirectorHost, DrTopology, Procs, UDP_CLIENT, UDP_SERVER, fixture, nsRun, packetSkipReason, packetSocketProtocols, sh, snmp, waitFor } from './helpers.js';
import { ip } from './fixtures/wire.js';

const skip = packetSkipReason();
const TABLE = 'tsvs_pio_e2e';

function service(protocol: 'tcp' | 'udp', vip: string, port: number, rip: string, rport: number): TableOp[] {
  const key = { kind: 'addr' as const, protocol, addr: ip(vip), port };
  return [
    { op: 'add-service', service: { key, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff } },
    { op: 'add-dest', key, dest: { addr: ip(rip), port: rport, method: 'droute', weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0, tunCsum: 'nocsum' } },
  ];
}

const BULK_SERVER = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 81)); s.listen(4)
while True:
    c, _ = s.accept(); n = 0; h = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d); h = (h + sum(d)) % 1000003
    c.sendall(('%d %d' % (n, h)).encode()); c.close()
`;
const BULK_CLIENT = `
import socket, sys
data = bytes((i * 7) % 251 for i in range(4 * 1024 * 1024))
c = socket.create_connection((sys.argv[1], 81), timeout=10)
c.sendall(data); c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode(), len(data), sum(data) % 1000003)
`;

// Writes of 1800 bytes, one at a time: each is one TSO superframe a little larger than the MTU
// (smaller than a ring slot).
const MID_GSO_CLIENT = `
import socket, sys, time
data = bytes((i * 13) % 251 for i in range(1800 * 40))
c = socket.create_connection((sys.argv[1], 81), timeout=10)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(40):
    c.sendall(data[i * 1800:(i + 1) * 1800]); time.sleep(0.01)
c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode(), len(data), sum(data) % 1000003)
`;

async function arpProbe(ns: string): Promise<{ replies: number; macs: string[] }> {
  const r = await nsRun(ns, [process.execPath, fixture('arp-probe'), 'c0', '198.18.0.1', DrTopology.VIP, '400']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { replies: number; macs: string[] };
}

for (const fast of [false, true]) describe(`packet plane end to end: DR test engine in network namespaces, ${fast ? 'tc mode: bound sockets, prerouting rules' : 'taps'}`, { skip: skip || (fast && tcxUnavailable()) }, () => {
  const topo = new DrTopology('e2e');
  // The table as `nft list` names it: netdev for taps; inet (with an arp one beside it) for bound sockets.
  const family = fast ? 'inet' : 'netdev';
  const procs = new Procs();
  let host: DirectorHost | undefined;
  let webDir = '';
  let udpSink: { out: () => string } | undefined;

  before(async () => {
    topo.up();
    webDir = mkdtempSync(join(tmpdir(), 'tsvs-pio-web-'));
    writeFileSync(join(webDir, 'index.html'), 'hello from the real server\n');
    udpSink = procs.start(topo.rs, ['python3', '-c', UDP_SERVER, '5353']);
    procs.start(topo.rs, ['python3', '-m', 'http.server', '80', '--bind', '0.0.0.0', '--directory', webDir]);
    procs.start(topo.rs, ['python3', '-c', BULK_SERVER]);
    host = new DirectorHost(topo.lb);
    await host.call('start', {
      interfaces: ['l0', 'l1'], announceInterfaces: ['l0'], engineModule: fixture('dr-engine'), nftTable: TABLE,
      ...(fast ? { offload: { mode: 'tc', maxFlows: 1024 } } : {}),
      ops: [...service('udp', DrTopology.VIP, 5353, DrTopology.RIP, 5353), ...service('tcp', DrTopology.VIP, 80, DrTopology.RIP, 80),
        ...service('tcp', DrTopology.VIP, 81, DrTopology.RIP, 81)],
    });
    // The servers must be listening before traffic starts.
    await waitFor('servers listening', async () => (await nsRun(topo.rs, ['ss', '-ltnu'])).stdout.includes(':81'));
  });

  after(async () => {
    await host?.close();
    procs.killAll();
    topo.down();
    if (webDir) rmSync(webDir, { recursive: true, force: true });
  });

  test('the nft table is installed with the VIP rules on both devices', () => {
    const out = sh(`ip netns exec ${topo.lb} nft list table ${family} ${TABLE}`);
    assert.match(out, /198\.18\.0\.100 \. 17 \. 5353|198\.18\.0\.100 \. udp \. 5353/);
    if (fast) {
      assert.match(out, /hook prerouting priority -500/);
      assert.match(out, /iifname != \{ "l0", "l1" \} accept/);
      assert.match(sh(`ip netns exec ${topo.lb} nft list table arp ${TABLE}`), /arp daddr ip 198\.18\.0\.100 drop/);
      // Bound rings only, no 0003 tap.
      assert.deepEqual(packetSocketProtocols(sh(`ip netns exec ${topo.lb} cat /proc/net/packet`)), ['0800', '0806', '86dd']);
    } else {
      assert.match(out, /device "l0"/);
      assert.match(out, /device "l1"/);
    }
  });

  test('ARP for the VIP is answered exactly once, by tsvs: the kernel (VIP on lo) is kept out by nft', async () => {
    const r = await arpProbe(topo.cli);
    assert.deepEqual(r, { replies: 1, macs: ['02:00:00:00:01:00'] });
    const s = await host!.call<PlaneSnapshot>('snapshot');
    assert.ok(s.io.arpReplies >= 1, `arpReplies ${s.io.arpReplies}`);
  });

  test('UDP with partial checksums from a local sender reaches a real socket on the real server (DR)', async () => {
    const icmp0 = snmp(topo.cli, 'Icmp', 'InDestUnreachs');
    const r = await nsRun(topo.cli, ['python3', '-c', UDP_CLIENT, DrTopology.VIP, '5353', '50']);
    assert.equal(r.code, 0, r.stderr);
    // The first datagrams wait while tsvs resolves the real server's MAC (active ARP; held-frames.ts
    // holds up to 16 per neighbour, and ARP answers long before the client's 20 ms pacing fills that).
    await waitFor('datagrams at the real server', () => udpSink!.out().split('\n').filter((l) => l.startsWith('msg-')).length >= 50);
    const lines = udpSink!.out().split('\n').filter((l) => l.startsWith('msg-'));
    assert.equal(lines.length, 50);
    assert.ok(lines.every((l) => l.endsWith(' 198.18.0.1')), 'client address kept (DR)');
    assert.equal(snmp(topo.rs, 'Udp', 'InCsumErrors'), 0);
    // The director's kernel did not answer the VIP traffic (no socket there: it would send port unreachable).
    assert.equal(snmp(topo.cli, 'Icmp', 'InDestUnreachs'), icmp0);
    const s = await host!.call<PlaneSnapshot>('snapshot');
    assert.ok(s.io.csumCompleted >= 40, `csumCompleted ${s.io.csumCompleted}`);
    assert.ok(s.io.neighRequests >= 1, 'the real server was resolved actively');
    assert.ok(s.io.neighHeld >= 1, `the first datagram waited for the real server's MAC: neighHeld ${s.io.neighHeld}`);
    assert.deepEqual([s.io.neighReleased, s.io.neighHeldDropped], [s.io.neighHeld, 0]);
  });

  test('TCP: curl gets the page from the real server through the VIP', async () => {
    const r = await nsRun(topo.cli, ['curl', '-s', '--max-time', '5', `http://${DrTopology.VIP}/index.html`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello from the real server\n');
    assert.equal(snmp(topo.rs, 'Tcp', 'InCsumErrors'), 0);
  });

  test('a 4 MiB TCP upload (GSO superframes from the client) arrives intact', async () => {
    const r = await nsRun(topo.cli, ['python3', '-c', BULK_CLIENT, DrTopology.VIP], 20_000);
    assert.equal(r.code, 0, r.stderr);
    const [n, h, sent, sum] = r.stdout.trim().split(/\s+/);
    assert.equal(n, sent);
    assert.equal(h, sum);
    assert.equal(snmp(topo.rs, 'Tcp', 'InCsumErrors'), 0);
    const s = await host!.call<PlaneSnapshot>('snapshot');
    // veth keeps the sender's TSO superframes whole: the plane must have cut them itself.
    assert.ok(s.io.gsoFrames > 0 && s.io.gsoSegments > s.io.gsoFrames, `gso ${s.io.gsoFrames}/${s.io.gsoSegments}`);
    assert.equal(s.io.oversize, 0);
  });

  test('TCP superframes between the MTU and the ring slot size are cut too (no EMSGSIZE on send)', async () => {
    const before = await host!.call<PlaneSnapshot>('snapshot');
    const r = await nsRun(topo.cli, ['python3', '-c', MID_GSO_CLIENT, DrTopology.VIP], 20_000);
    assert.equal(r.code, 0, r.stderr);
    const [n, h, sent, sum] = r.stdout.trim().split(/\s+/);
    assert.equal(n, sent);
    assert.equal(h, sum);
    const after = await host!.call<PlaneSnapshot>('snapshot');
    // Each 1800-byte write leaves the client as one 1866-byte GSO frame (two segments at MSS 1448).
    assert.ok(after.io.gsoFrames - before.io.gsoFrames >= 10, `gso frames ${after.io.gsoFrames - before.io.gsoFrames}`);
    assert.equal(after.io.txErrors - before.io.txErrors, 0, `tx errors (last errno ${after.io.lastTxErrno})`);
  });

  test('snapshot: per-service and per-destination counters from the worker', async () => {
    const s = await host!.call<PlaneSnapshot>('snapshot');
    const udp = s.engine.services.find((x) => x.key.kind === 'addr' && x.key.protocol === 'udp');
    assert.ok(udp);
    assert.ok(udp.stats.inPkts >= 40 && udp.stats.inPkts <= 50, `udp inPkts ${udp.stats.inPkts}`);
    assert.equal(udp.stats.conns, 1);
    assert.equal(udp.dests[0].stats.inPkts, udp.stats.inPkts);
    assert.equal(s.workers.length, 1);
    // A send the kernel refuses is an error, except a full transmit queue (ENOBUFS/EAGAIN) when the
    // machine is busy: then a small share may be dropped, as on a real NIC.
    if (s.io.txErrors > 0) {
      assert.ok([11, 105].includes(s.io.lastTxErrno), `tx errno ${s.io.lastTxErrno}`);
      assert.ok(s.io.txErrors * 20 < s.io.txFrames, `tx errors ${s.io.txErrors} of ${s.io.txFrames}`);
    }
    const page = await host!.call<ConnPage>('connections', { offset: 0, limit: 10 });
    assert.ok(page.total >= 3);
    assert.ok(page.entries.some((e) => e.protocol === 'UDP' && e.virtual.port === 5353));
  });

  test('applyOps: a service on a new VIP added at run time is answered (ARP) and forwarded; a bad op is refused whole', async () => {
    const bad = await host!.call<OpsResult>('applyOps', { ops: service('udp', DrTopology.VIP2, 9999, DrTopology.RIP, 9999).slice(1) });
    assert.equal(bad.ok, false);
    const ok = await host!.call<OpsResult>('applyOps', { ops: service('udp', DrTopology.VIP2, 5353, DrTopology.RIP, 5353) });
    assert.deepEqual(ok, { ok: true });
    assert.match(sh(`ip netns exec ${topo.lb} nft list table ${family} ${TABLE}`), /198\.18\.0\.101/);
    const before = udpSink!.out().split('\n').filter((l) => l.startsWith('msg-')).length;
    const r = await nsRun(topo.cli, ['python3', '-c', UDP_CLIENT, DrTopology.VIP2, '5353', '10']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('datagrams on the new service', () => udpSink!.out().split('\n').filter((l) => l.startsWith('msg-')).length >= before + 10);
  });

  test('stop removes the nft table; then the kernel answers ARP for the VIP on lo again', async () => {
    const final = await host!.call<PlaneSnapshot>('stop');
    assert.ok(final.io.forwarded > 0);
    await host!.close();
    host = undefined;
    assert.doesNotMatch(sh(`ip netns exec ${topo.lb} nft list tables`), new RegExp(TABLE));
    const r = await arpProbe(topo.cli);
    assert.equal(r.replies, 1);
  });
});
