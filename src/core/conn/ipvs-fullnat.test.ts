import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatEndpoint } from '../net/addr.js';
import { ip } from '../sched/testing.js';
import { ACK, RST, SYN, lab, pkt, tcp } from './testing.js';

const VIP = '198.18.0.1:80';
const LOCAL = '198.18.100.1';

function fullnatLab(portMin = 40000, portMax = 40001) {
  const l = lab({ fullnatPool: { addresses: [ip(LOCAL)], portMin, portMax } });
  const k = l.service('tcp', VIP);
  const d = l.dest(k, '10.0.0.2:8080', { method: 'fullnat' });
  return { l, k, d };
}

function local(r: ReturnType<ReturnType<typeof lab>['ipvs']['inbound']>): string {
  if (r.kind !== 'forward') assert.fail(`expected forward, got ${r.kind}${r.kind === 'drop' ? ` ${r.reason}` : ''}`);
  assert.equal(r.method, 'fullnat');
  return formatEndpoint(r.localAddr!, r.localPort);
}

describe('full NAT local endpoints (tsvs fullnat, spec §3 / §4.1)', () => {
  it('allocates distinct local ports toward one server and refuses when the range is used up', () => {
    const { l } = fullnatLab();
    const a = local(l.ipvs.inbound(tcp('192.0.2.10:1000', VIP, SYN)));
    const b = local(l.ipvs.inbound(tcp('192.0.2.11:1000', VIP, SYN)));
    assert.deepEqual([a, b].sort(), [`${LOCAL}:40000`, `${LOCAL}:40001`]);
    assert.deepEqual(l.ipvs.inbound(tcp('192.0.2.12:1000', VIP, SYN)), { kind: 'drop', reason: 'fullnat-no-port' });
    assert.equal(l.ipvs.drops['fullnat-no-port'], 1);
    assert.equal(l.ipvs.conns.count, 2);
  });

  it('a worker\'s share: only ports with port % count === index, all of them, then none (the packet plane steers replies by port)', () => {
    const l = lab({ fullnatPool: { addresses: [ip(LOCAL)], portMin: 40000, portMax: 40009, share: { index: 1, count: 3 } } });
    l.dest(l.service('tcp', VIP), '10.0.0.2:8080', { method: 'fullnat' });
    const ports = [0, 1, 2].map((i) => Number(local(l.ipvs.inbound(tcp(`192.0.2.${10 + i}:1000`, VIP, SYN))).split(':')[1]));
    // 40000..40009 % 3 === 1: 40000 (40000 = 3 * 13333 + 1), 40003, 40006, 40009; the cursor starts anywhere.
    assert.deepEqual(ports.every((p) => p % 3 === 1 && p >= 40000 && p <= 40009), true, String(ports));
    assert.equal(new Set(ports).size, 3);
    local(l.ipvs.inbound(tcp('192.0.2.13:1000', VIP, SYN)));
    assert.deepEqual(l.ipvs.inbound(tcp('192.0.2.14:1000', VIP, SYN)), { kind: 'drop', reason: 'fullnat-no-port' });
  });

  it('a share with no port in the range, or an index outside it, is refused when the engine is built', () => {
    assert.throws(() => lab({ fullnatPool: { addresses: [ip(LOCAL)], portMin: 40000, portMax: 40001, share: { index: 0, count: 3 } } }),
      /Full-NAT port range 40000-40001 has no port for worker 0 of 3: it needs at least 3 ports/);
    assert.throws(() => lab({ fullnatPool: { addresses: [ip(LOCAL)], share: { index: 3, count: 3 } } }), /an index below its count: current value is 3 of 3/);
  });

  it('the same local port may serve another server (uniqueness per local and server endpoint)', () => {
    const { l, k } = fullnatLab(40000, 40000);
    l.ipvs.inbound(tcp('192.0.2.10:1000', VIP, SYN));
    l.table.editDest(k, { ...l.table.findDest(l.table.getService(k)!, ip('10.0.0.2'), 8080)!.config(), weight: 0 });
    l.dest(k, '10.0.0.3:8080', { method: 'fullnat' });
    assert.equal(local(l.ipvs.inbound(tcp('192.0.2.11:1000', VIP, SYN))), `${LOCAL}:40000`);
  });

  it('replies are found by (server → local) and go back to the client from the VIP', () => {
    const { l, d } = fullnatLab();
    const r = l.ipvs.inbound(tcp('192.0.2.10:1000', VIP, SYN));
    const lp = r.kind === 'forward' ? r.localPort : -1;
    const conn = r.kind === 'forward' ? r.conn : -1;
    const o = l.ipvs.outbound(tcp('10.0.0.2:8080', `${LOCAL}:${lp}`, SYN | ACK));
    if (o.kind !== 'forward') assert.fail(o.kind);
    assert.equal(o.conn, conn);
    assert.equal(o.dest, d);
    assert.equal(o.method, 'fullnat');
    assert.equal(`${formatEndpoint(o.caddr, o.cport)} ${formatEndpoint(o.vaddr, o.vport)}`, `192.0.2.10:1000 ${VIP}`);
    // A reply addressed to the client itself is not ours in full NAT.
    assert.equal(l.ipvs.outbound(tcp('10.0.0.2:8080', '192.0.2.10:1000', ACK)).kind, 'pass');
    const e = l.ipvs.conns.get(conn)!;
    assert.equal(e.method, 'fullnat');
    assert.equal(e.local && formatEndpoint(e.local.addr, e.local.port), `${LOCAL}:${lp}`);
  });

  it('a port is free again once its conn expired', () => {
    const { l } = fullnatLab(40000, 40000);
    l.ipvs.inbound(tcp('192.0.2.10:1000', VIP, SYN));
    l.ipvs.inbound(tcp('192.0.2.10:1000', VIP, ACK));
    l.ipvs.inbound(tcp('192.0.2.10:1000', VIP, RST)); // CLOSE: 10 s
    l.advance(10_000);
    assert.equal(local(l.ipvs.inbound(tcp('192.0.2.11:1000', VIP, SYN))), `${LOCAL}:40000`);
  });

  it('without a pool, full-NAT conns cannot be made', () => {
    const l = lab();
    l.dest(l.service('tcp', VIP), '10.0.0.2:80', { method: 'fullnat' });
    assert.deepEqual(l.ipvs.inbound(tcp('192.0.2.10:1000', VIP, SYN)), { kind: 'drop', reason: 'fullnat-no-port' });
    assert.equal(l.ipvs.conns.count, 0);
  });
});

describe('ICMP errors related to a conn (spec §2.6)', () => {
  it('from the client side: found by the quoted reply header, forwarded to the conn\'s server, timer untouched', () => {
    const l = lab();
    const d = l.dest(l.service('udp', '198.18.0.1:53'), '10.0.0.2:53', { method: 'masq' });
    const r = l.ipvs.inbound(pkt('udp', '192.0.2.10:5000', '198.18.0.1:53'));
    const conn = r.kind === 'forward' ? r.conn : -1;
    l.advance(100_000);
    const rel = l.ipvs.inboundRelated(pkt('udp', '198.18.0.1:53', '192.0.2.10:5000', 0, { length: 88 }));
    assert.equal(rel.kind === 'forward' && rel.conn, conn);
    assert.equal(rel.kind === 'forward' && rel.isNew, false);
    assert.equal(l.ipvs.conns.get(conn)!.expiresS, 200);
    assert.equal(d.stats.inBytes, 60 + 88);
    // Without a conn and schedule_icmp=0 it is not IPVS's.
    assert.equal(l.ipvs.inboundRelated(pkt('udp', '198.18.0.1:53', '192.0.2.99:5000')).kind, 'pass');
  });

  it('from a real server: found by the quoted request header (client → server) for NAT and full NAT', () => {
    const l = lab({ fullnatPool: { addresses: [ip(LOCAL)], portMin: 50000, portMax: 50000 } });
    l.dest(l.service('tcp', VIP), '10.0.0.2:80', { method: 'masq' });
    l.dest(l.service('tcp', '198.18.0.1:81'), '10.0.0.3:80', { method: 'fullnat' });
    const nat = l.ipvs.inbound(tcp('192.0.2.10:1000', VIP, SYN));
    const natConn = nat.kind === 'forward' ? nat.conn : -1;
    const full = l.ipvs.inbound(tcp('192.0.2.10:1001', '198.18.0.1:81', SYN));
    const fullConn = full.kind === 'forward' ? full.conn : -1;
    const a = l.ipvs.outboundRelated(tcp('192.0.2.10:1000', '10.0.0.2:80', 0));
    assert.equal(a.kind === 'forward' && a.conn, natConn);
    const b = l.ipvs.outboundRelated(tcp(`${LOCAL}:50000`, '10.0.0.3:80', 0));
    assert.equal(b.kind === 'forward' && b.conn, fullConn);
    assert.equal(l.ipvs.outboundRelated(tcp('192.0.2.10:9', '10.0.0.2:80', 0)).kind, 'pass');
  });

  it('nat_icmp_send=1: a reply from a real service without a conn asks for ICMP unreachable, unless RST', () => {
    const l = lab({ sysctls: { nat_icmp_send: 1 } });
    l.dest(l.service('tcp', VIP), '10.0.0.2:80', { method: 'masq' });
    assert.equal(l.ipvs.outbound(tcp('10.0.0.2:80', '192.0.2.10:1000', ACK)).kind, 'unreachable');
    assert.equal(l.ipvs.outbound(tcp('10.0.0.2:80', '192.0.2.10:1000', RST)).kind, 'pass');
    assert.equal(l.ipvs.outbound(tcp('10.0.0.9:80', '192.0.2.10:1000', ACK)).kind, 'pass');
  });
});
