// The tc fast path's delivery into a veth peer through the whole plane (ADR 0005, "Delivery to a
// veth peer"), as root in network namespaces with the real engine: l1's peer is the real server's
// r0 (DrTopology), so the facts give l1 the peer's MAC and the offloader marks the UDP flow for the
// peer; its datagrams then reach the real server without l1 transmitting them. A clsact qdisc on l1
// (where tc egress filters hang) turns that off: the flow goes back to the engine, and comes back to
// the fast path as an egress flow.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TableOp } from '../../src/control/director-api.js';
import type { PlaneSnapshot } from '../../src/dataplane/packet/plane.js';
import { tcxUnavailable } from '../../src/dataplane/packet/xdp/fast-path.js';
import { DirectorHost, DrTopology, Procs, UDP_CLIENT, UDP_SERVER, nsRun, packetSkipReason, sh, waitFor } from './helpers.js';
import { ip } from './fixtures/wire.js';

const skip = packetSkipReason() || (tcxUnavailable() ?? false);
const TABLE = 'tsvs_pio_peer';
const ENGINE = new URL('../../src/dataplane/packet/engine-module.js', import.meta.url).href;
const PORT = 5353;
const SENT = 60;

describe('the tc fast path delivers into the veth peer that is the next hop (real engine, network namespaces)', { skip }, () => {
  const topo = new DrTopology('peer');
  const procs = new Procs();
  let host: DirectorHost | undefined;
  let sink: { out: () => string } | undefined;
  const l1Tx = () => Number(sh(`ip netns exec ${topo.lb} cat /sys/class/net/l1/statistics/tx_packets`).trim());
  const received = () => sink!.out().split('\n').filter((l) => l.startsWith('msg-')).length;
  const io = async () => (await host!.call<PlaneSnapshot>('snapshot')).io;
  /** One client socket (one flow) sending SENT datagrams; resolves once the real server has them (a few may wait out ARP). */
  const flow = async () => {
    const before = received();
    const r = await nsRun(topo.cli, ['python3', '-c', UDP_CLIENT, DrTopology.VIP, String(PORT), String(SENT)]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('the datagrams at the real server', () => received() - before >= SENT - 2);
  };

  before(async () => {
    topo.up();
    // No IPv6 chatter on l1 (DAD, MLD, router solicitations): its transmit counter counts the flow.
    sh(`ip netns exec ${topo.lb} sysctl -qw net.ipv6.conf.l1.disable_ipv6=1`);
    sink = procs.start(topo.rs, ['python3', '-c', UDP_SERVER, String(PORT)]);
    const key = { kind: 'addr' as const, protocol: 'udp' as const, addr: ip(DrTopology.VIP), port: PORT };
    const ops: TableOp[] = [
      { op: 'add-service', service: { key, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff } },
      { op: 'add-dest', key, dest: { addr: ip(DrTopology.RIP), port: PORT, method: 'droute', weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0, tunCsum: 'nocsum' } },
    ];
    host = new DirectorHost(topo.lb);
    await host.call('start', {
      interfaces: ['l0', 'l1'], announceInterfaces: ['l0'], engineModule: ENGINE, nftTable: TABLE, ops,
      offload: { mode: 'tc', maxFlows: 1024 }, snapshotEveryMs: 200,
    });
    await waitFor('the UDP server', async () => (await nsRun(topo.rs, ['ss', '-lnu'])).stdout.includes(`:${PORT}`));
  });

  after(async () => {
    try {
      await host?.close();
    } finally {
      procs.killAll();
      topo.down();
    }
  });

  test('a flow to the real server behind l1\'s peer is installed for the peer, and l1 transmits none of its offloaded datagrams', async () => {
    const tx0 = l1Tx();
    await flow();
    const s = await io();
    assert.deepEqual([s.offloadInstalled, s.offloadInstalledToPeer], [1, 1]);
    // What l1 does transmit: the flow's first datagrams, sent by the engine before the flow was
    // installed, and the ARP exchange with the real server both ways (6 here); through the veth,
    // all SENT of them (the next test).
    assert.ok(l1Tx() - tx0 < SENT / 2, `l1 transmitted ${l1Tx() - tx0} frames for ${SENT} datagrams`);
    await waitFor('the fast path\'s packets credited', async () => (await io()).offloadPackets >= SENT - 10, 3000);
  });

  test('a clsact qdisc on l1: the flow leaves the fast path, and the next one is installed for l1\'s egress', async () => {
    sh(`ip netns exec ${topo.lb} tc qdisc add dev l1 clsact`);
    assert.equal(await host!.call('refreshFacts'), true);
    await waitFor('the peer flow removed', async () => (await io()).offloadRemoved >= 1, 3000);
    const tx0 = l1Tx();
    await flow();
    const s = await io();
    assert.deepEqual([s.offloadInstalled, s.offloadInstalledToPeer], [2, 1]);
    assert.ok(l1Tx() - tx0 >= SENT - 2, `l1 transmitted ${l1Tx() - tx0} frames for ${SENT} datagrams`);
  });
});
