// IPv6 through the packet plane and the real engine (engine-module.ts), as root in network
// namespaces: the client finds the VIP by neighbour discovery (tsvs answers), direct routing keeps
// the client's address with replies bypassing the director, masq rewrites both ways with the
// replies back through it, full NAT shows the real server the director's address, and UDP goes too (spec §3: "IPv4 and IPv6 where the method allows").
// Run with one forwarding worker and with two (the fanout program's IPv6 paths in the kernel).
// The DR line of helpers.ts, dual-stacked:
//
//   cli c0 2001:db8::1, 2001:db8:5::1  <->  lb l0 2001:db8::2, 2001:db8:5::2
//                                           lb l1 2001:db8:1::2  <->  rs r0 2001:db8:1::1
//   cli c1 2001:db8:3::1  <--------------------------------------->  rs r1 2001:db8:3::2   (all /64)
//
// VIP6 2001:db8::100 is on the client's link (the client solicits it) and on the real server's lo
// (DR). The real server routes the DR client's prefix over the direct link and the masq client's
// prefix (2001:db8:5::/64) back through the director; the director forwards IPv6 (the operator
// habit the nft exclusion must survive).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TableOp } from '../../src/control/director-api.js';
import type { ForwardMethod } from '../../src/core/service/types.js';
import type { PlaneSnapshot } from '../../src/dataplane/packet/plane.js';
import { DirectorHost, DrTopology, Procs, UDP_CLIENT, UDP_SERVER, nsRun, packetSkipReason, sh, snmp, waitFor } from './helpers.js';
import { ip } from './fixtures/wire.js';

const skip = packetSkipReason();
const TABLE = 'tsvs_pio_v6';
const VIP6 = '2001:db8::100';
const CLIENT = '2001:db8::1';
const MASQ_CLIENT = '2001:db8:5::1';
const RIP6 = '2001:db8:1::1';
/** The director's address toward the real server: its full-NAT local address. */
const LOCAL6 = '2001:db8:1::2';
const FULLNAT_PORTS = { min: 40000, max: 40999 };
const ENGINE = new URL('../../src/dataplane/packet/engine-module.js', import.meta.url).href;

function service(protocol: 'tcp' | 'udp', port: number, rport: number, method: ForwardMethod): TableOp[] {
  const key = { kind: 'addr' as const, protocol, addr: ip(VIP6), port };
  return [
    { op: 'add-service', service: { key, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 128 } },
    { op: 'add-dest', key, dest: { addr: ip(RIP6), port: rport, method, weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0, tunCsum: 'nocsum' } },
  ];
}

/** An HTTP server on [::]:PORT whose page is the address the request came from. */
const WHO_SERVER = `
import http.server, socket, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ('%s\\n' % self.client_address[0]).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
class S(http.server.HTTPServer): address_family = socket.AF_INET6
S(('::', int(sys.argv[1])), H).serve_forever()
`;
function addV6(topo: DrTopology): void {
  const { cli, lb, rs } = topo;
  const a = (ns: string, addr: string, dev: string) => `ip -n ${ns} -6 addr add ${addr} dev ${dev} nodad`;
  sh([
    ...[cli, lb, rs].map((n) => `ip netns exec ${n} sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0`),
    a(cli, `${CLIENT}/64`, 'c0'), a(cli, `${MASQ_CLIENT}/64`, 'c0'), a(cli, '2001:db8:3::1/64', 'c1'),
    a(lb, '2001:db8::2/64', 'l0'), a(lb, '2001:db8:5::2/64', 'l0'), a(lb, '2001:db8:1::2/64', 'l1'),
    a(rs, `${RIP6}/64`, 'r0'), a(rs, '2001:db8:3::2/64', 'r1'), a(rs, `${VIP6}/128`, 'lo'),
    `ip -n ${rs} -6 route add 2001:db8::/64 via 2001:db8:3::1 dev r1`,
    `ip -n ${rs} -6 route add 2001:db8:5::/64 via 2001:db8:1::2 dev r0`,
    `ip netns exec ${lb} sysctl -qw net.ipv6.conf.all.forwarding=1`,
  ].join(' && '));
}

for (const workers of [1, 2]) describe(`packet plane end to end over IPv6: the real engine, DR, masq and full NAT, TCP and UDP, ${workers} worker(s)`, { skip }, () => {
  const topo = new DrTopology(`v6w${workers}`);
  const procs = new Procs();
  let host: DirectorHost | undefined;
  let udpSink: { out: () => string } | undefined;

  before(async () => {
    topo.up();
    addV6(topo);
    // The link-local addresses came up before DAD was turned off: until their DAD ends the
    // kernels of the client and the real server hold back their own solicitations, and would cost
    // the first exchanges a retransmission that is none of the director's doing.
    await waitFor('duplicate address detection', () => [topo.cli, topo.lb, topo.rs].every((n) => sh(`ip -n ${n} -6 addr show tentative`).trim() === ''));
    procs.start(topo.rs, ['python3', '-c', WHO_SERVER, '80']);
    udpSink = procs.start(topo.rs, ['python3', '-c', UDP_SERVER, '5353', '6']);
    host = new DirectorHost(topo.lb);
    await host.call('start', {
      interfaces: ['l0', 'l1'], announceInterfaces: ['l0'], engineModule: ENGINE, nftTable: TABLE, workers,
      // Two workers steer by the table's addresses (fanout.ts): masq replies by the client, full-NAT ones by port.
      engineOptions: { fullnat: { addresses: [LOCAL6], portMin: FULLNAT_PORTS.min, portMax: FULLNAT_PORTS.max } },
      fullnatAddresses: [ip(LOCAL6)], fullnatPorts: FULLNAT_PORTS,
      ops: [...service('tcp', 80, 80, 'droute'), ...service('tcp', 8080, 80, 'masq'), ...service('tcp', 8081, 80, 'fullnat'),
        ...service('udp', 5353, 5353, 'droute')],
    });
    await waitFor('servers listening', async () => {
      const ss = (await nsRun(topo.rs, ['ss', '-ltnu'])).stdout;
      return ss.includes(':80 ') && ss.includes(':5353 ');
    });
  });

  after(async () => {
    await host?.close();
    procs.killAll();
    topo.down();
  });

  /**
   * curl from `from`; the first packets toward a neighbour the director has not resolved yet are
   * held until NDP answers (held-frames.ts), so no SYN needs a retransmission (the client's count).
   */
  const curl = async (url: string, from: string) => {
    // Either side's: a dropped SYN is the client's to send again, a dropped SYN-ACK the real server's.
    const retrans = () => [topo.cli, topo.rs].map((n) => snmp(n, 'Tcp', 'RetransSegs'));
    const before = retrans();
    const r = await nsRun(topo.cli, ['curl', '-s', '-g', '--max-time', '5', '--interface', from, url]);
    assert.deepEqual(retrans(), before, 'no TCP retransmission: nothing was dropped while the director resolved a neighbour');
    return r;
  };
  const stats = async (port: number) => {
    const s = await host!.call<PlaneSnapshot>('snapshot');
    const svc = s.engine.services.find((x) => x.key.kind === 'addr' && x.key.port === port);
    assert.ok(svc, `service ${port}`);
    return svc.stats;
  };

  test('DR: the real server sees the client\'s address, the client found the VIP at the director (NDP), and replies bypass it', async () => {
    const r = await curl(`http://[${VIP6}]/`, CLIENT);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${CLIENT}\n`);
    assert.match(sh(`ip -n ${topo.cli} -6 neigh show ${VIP6} dev c0`), /lladdr 02:00:00:00:01:00/);
    const st = await stats(80);
    assert.ok(st.inPkts >= 4, `InPkts ${st.inPkts}`);
    assert.equal(st.outPkts, 0, 'replies went over the direct link');
    assert.equal(st.conns, 1);
  });

  test('masq: the real server sees the client, the reply comes back through the director from the VIP', async () => {
    const r = await curl(`http://[${VIP6}]:8080/`, MASQ_CLIENT);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${MASQ_CLIENT}\n`);
    const st = await stats(8080);
    assert.ok(st.outPkts >= 3, `OutPkts ${st.outPkts}: replies rewritten by the director`);
    assert.equal(st.conns, 1);
    // The kernel forwarded none of it (forwarding=1): the exclusion kept the replies for tsvs.
    assert.equal(Number(sh(`ip netns exec ${topo.lb} cat /proc/net/snmp6`).match(/^Ip6OutForwDatagrams\s+(\d+)/m)?.[1]), 0);
  });

  test('full NAT: the real server sees the director\'s address, and the reply comes back to the client', async () => {
    const held0 = (await host!.call<PlaneSnapshot>('snapshot')).io.neighHeld;
    const r = await curl(`http://[${VIP6}]:8081/`, CLIENT);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${LOCAL6}\n`);
    const st = await stats(8081);
    assert.ok(st.outPkts >= 3, `OutPkts ${st.outPkts}`);
    assert.equal(st.conns, 1);
    // The reply toward the client waited for its address to resolve: DR replies bypass the director,
    // so nothing before this test resolved it (the DR and masq tests held theirs too).
    const io = (await host!.call<PlaneSnapshot>('snapshot')).io;
    assert.ok(io.neighHeld > held0, `held ${held0} before, ${io.neighHeld} after`);
    assert.deepEqual([io.neighReleased, io.neighHeldDropped], [io.neighHeld, 0]);
    assert.equal((await host!.call<PlaneSnapshot>('snapshot')).engine.drops['no-neighbour'] ?? 0, 0);
  });

  test('UDP over DR keeps the client\'s address', async () => {
    const r = await nsRun(topo.cli, ['python3', '-c', UDP_CLIENT, VIP6, '5353', '20']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('datagrams at the real server', () => udpSink!.out().split('\n').filter((l) => l.startsWith('msg-')).length >= 20);
    const lines = udpSink!.out().split('\n').filter((l) => l.startsWith('msg-'));
    assert.ok(lines.every((l) => l.endsWith(` ${CLIENT}`)), lines.join('; '));
    assert.equal((await stats(5353)).outPkts, 0);
  });
});
