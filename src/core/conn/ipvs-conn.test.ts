import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatEndpoint } from '../net/addr.js';
import type { Destination } from '../service/destination.js';
import type { InResult } from './ipvs.js';
import { ACK, FIN, RST, SYN, lab, pkt, tcp } from './testing.js';

const C = '192.0.2.10:40000';
const VIP = '198.18.0.1:80';

function fwd(r: InResult): { conn: number; dest: Destination; isNew: boolean } {
  assert.equal(r.kind, 'forward', `expected forward, got ${JSON.stringify(r.kind === 'drop' ? r : r.kind)}`);
  if (r.kind !== 'forward') throw new Error('unreachable');
  return { conn: r.conn, dest: r.dest, isNew: r.isNew };
}

const counts = (d: Destination) => [d.activeConns, d.inactConns, d.persistConns];

describe('connection lifecycle and accounting (spec §2.4, §2.5)', () => {
  it('DR: SYN → SYN_RECV active 60 s, ACK → ESTABLISHED 900 s, FIN → FIN_WAIT inactive 120 s, RST → CLOSE 10 s (spec §2.5)', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    const d = l.dest(k, '10.0.0.2:80');
    const steps: [number, string, number, number[]][] = [
      [SYN, 'SYN_RECV', 60, [1, 0, 0]],
      [ACK, 'ESTABLISHED', 900, [1, 0, 0]],
      [FIN | ACK, 'FIN_WAIT', 120, [0, 1, 0]],
      [ACK, 'FIN_WAIT', 120, [0, 1, 0]],
      [RST, 'CLOSE', 10, [0, 1, 0]],
    ];
    let conn = -1;
    for (const [flags, state, timeoutS, cnt] of steps) {
      conn = fwd(l.ipvs.inbound(tcp(C, VIP, flags))).conn;
      const e = l.ipvs.conns.get(conn)!;
      assert.equal(e.state, state);
      assert.equal(e.expiresS, timeoutS);
      assert.deepEqual(counts(d), cnt, state);
    }
    l.advance(10_000);
    assert.equal(l.ipvs.conns.count, 0);
    assert.deepEqual(counts(d), [0, 0, 0]);
  });

  it('a new conn is inactive until its first transition, with the initial 3 s only when none happens (spec §2.4)', () => {
    const l = lab({ sysctls: { schedule_icmp: 1 } });
    const k = l.service('tcp', VIP);
    const d = l.dest(k, '10.0.0.2:80');
    // An ICMP error scheduled with schedule_icmp=1 creates a conn but makes no state transition.
    const r = fwd(l.ipvs.inboundRelated(tcp(VIP, C, ACK)));
    const e = l.ipvs.conns.get(r.conn)!;
    assert.equal(e.state, 'NONE');
    assert.equal(e.expiresS, 3);
    assert.deepEqual(counts(d), [0, 1, 0]);
    l.advance(3_000);
    assert.equal(l.ipvs.conns.count, 0);
  });

  it('NAT uses the INPUT/OUTPUT tables and the first reply clears NOOUTPUT (spec §2.5)', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    const d = l.dest(k, '10.0.0.2:8080', { method: 'masq' });
    const c = fwd(l.ipvs.inbound(tcp(C, VIP, SYN))).conn;
    assert.equal(l.ipvs.conns.get(c)!.flags & 0x80, 0, 'NAT conns have no NOOUTPUT');
    const o = l.ipvs.outbound(tcp('10.0.0.2:8080', C, SYN | ACK));
    assert.equal(o.kind, 'forward');
    if (o.kind !== 'forward') return;
    assert.equal(o.conn, c);
    assert.deepEqual([...o.vaddr.bytes, o.vport], [198, 18, 0, 1, 80]);
    assert.deepEqual([...o.caddr.bytes, o.cport], [192, 0, 2, 10, 40000]);
    assert.equal(l.ipvs.conns.get(c)!.state, 'SYN_RECV'); // OUTPUT syn from SR stays SR
    l.ipvs.inbound(tcp(C, VIP, ACK));
    assert.equal(l.ipvs.conns.get(c)!.state, 'ESTABLISHED');
    l.ipvs.outbound(tcp('10.0.0.2:8080', C, FIN | ACK));
    assert.equal(l.ipvs.conns.get(c)!.state, 'FIN_WAIT'); // OUTPUT fin from ES → FW
    assert.deepEqual(counts(d), [0, 1, 0]);
    l.ipvs.inbound(tcp(C, VIP, FIN | ACK));
    assert.equal(l.ipvs.conns.get(c)!.state, 'TIME_WAIT');
  });

  it('DR: the first OUTPUT packet clears NOOUTPUT, later INPUT uses the INPUT table (spec §2.5)', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    l.dest(k, '10.0.0.2:80');
    const c = fwd(l.ipvs.inbound(tcp(C, VIP, SYN))).conn;
    assert.equal(l.ipvs.conns.get(c)!.flags & 0x80, 0x80);
    // A DR conn is not in the out-index: replies never pass the director, so outbound passes.
    assert.equal(l.ipvs.outbound(tcp('10.0.0.2:80', C, SYN | ACK)).kind, 'pass');
  });

  it('UDP conns stay inactive forever and live 300 s from the last packet either way (spec §2.6)', () => {
    const l = lab();
    const k = l.service('udp', '198.18.0.1:53');
    const d = l.dest(k, '10.0.0.2:53', { method: 'masq' });
    const c = fwd(l.ipvs.inbound(pkt('udp', C, '198.18.0.1:53'))).conn;
    assert.equal(l.ipvs.conns.get(c)!.state, 'UDP');
    assert.equal(l.ipvs.conns.get(c)!.expiresS, 300);
    assert.deepEqual(counts(d), [0, 1, 0]);
    l.advance(200_000);
    l.ipvs.outbound(pkt('udp', '10.0.0.2:53', C));
    l.advance(299_999);
    assert.equal(l.ipvs.conns.count, 1);
    assert.deepEqual(counts(d), [0, 1, 0]);
    l.advance(1);
    assert.equal(l.ipvs.conns.count, 0);
    assert.deepEqual(counts(d), [0, 0, 0]);
  });

  it('--set timeouts apply from the next transition (spec §2.5)', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    l.dest(k, '10.0.0.2:80');
    l.ipvs.setTimeouts({ tcp: 100, tcpfin: 0, udp: 0 });
    assert.deepEqual(l.ipvs.getTimeouts(), { tcp: 100, tcpfin: 120, udp: 300 });
    l.ipvs.inbound(tcp(C, VIP, SYN));
    const c = fwd(l.ipvs.inbound(tcp(C, VIP, ACK))).conn;
    assert.equal(l.ipvs.conns.get(c)!.expiresS, 100);
  });

  it('SCTP: INIT creates a conn, only ESTABLISHED counts as active (spec §2.6)', () => {
    const l = lab();
    const k = l.service('sctp', '198.18.0.1:3868');
    const d = l.dest(k, '10.0.0.2:3868');
    const c = fwd(l.ipvs.inbound(pkt('sctp', C, '198.18.0.1:3868', 0, { sctpChunk: 1 }))).conn;
    assert.equal(l.ipvs.conns.get(c)!.state, 'INIT1');
    assert.deepEqual(counts(d), [0, 1, 0]);
    l.ipvs.inbound(pkt('sctp', C, '198.18.0.1:3868', 0, { sctpChunk: 10 })); // COOKIE-ECHO, INPUT_ONLY
    assert.equal(l.ipvs.conns.get(c)!.state, 'ESTABLISHED');
    assert.deepEqual(counts(d), [1, 0, 0]);
    assert.equal(l.ipvs.inbound(pkt('sctp', '192.0.2.11:1', '198.18.0.1:3868', 0, { sctpChunk: 0 })).kind, 'pass');
  });
});

describe('when packets create connections (spec §2.5, §2.6)', () => {
  const rows: [string, number, Record<string, number>, string][] = [
    ['SYN creates', SYN, {}, 'forward'],
    ['SYN+RST does not', SYN | RST, {}, 'pass'],
    ['ACK without entry is passed to the local stack', ACK, {}, 'pass'],
    ['FIN without entry is passed', FIN, {}, 'pass'],
    ['sloppy_tcp: ACK creates', ACK, { sloppy_tcp: 1 }, 'forward'],
    ['sloppy_tcp: RST never creates', RST | ACK, { sloppy_tcp: 1 }, 'pass'],
  ];
  for (const [name, flags, sysctls, kind] of rows) {
    it(`${name} (spec §2.5)`, () => {
      const l = lab({ sysctls });
      l.dest(l.service('tcp', VIP), '10.0.0.2:80');
      assert.equal(l.ipvs.inbound(tcp(C, VIP, flags)).kind, kind);
    });
  }

  it('sloppy_tcp: a mid-stream ACK lands in ESTABLISHED (spec §2.5)', () => {
    const l = lab({ sysctls: { sloppy_tcp: 1 } });
    l.dest(l.service('tcp', VIP), '10.0.0.2:80');
    const c = fwd(l.ipvs.inbound(tcp(C, VIP, ACK))).conn;
    assert.equal(l.ipvs.conns.get(c)!.state, 'ESTABLISHED');
  });

  it('a packet for no virtual service passes (spec §2.6)', () => {
    const l = lab();
    l.dest(l.service('tcp', VIP), '10.0.0.2:80');
    assert.equal(l.ipvs.inbound(tcp(C, '198.18.0.1:81', SYN)).kind, 'pass');
  });

  it('no available destination → no-dest (ICMP port unreachable), even for TCP, and counted (spec §2.6)', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    l.dest(k, '10.0.0.2:80', { weight: 0 });
    const r = l.ipvs.inbound(tcp(C, VIP, SYN));
    assert.equal(r.kind, 'no-dest');
    assert.equal(l.ipvs.drops['no-dest'], 1);
    assert.equal(l.ipvs.conns.count, 0);
  });

  it('a client port 20 is never scheduled (ip_vs_schedule FTPDATA rule)', () => {
    const l = lab();
    l.dest(l.service('tcp', VIP), '10.0.0.2:80');
    assert.equal(l.ipvs.inbound(tcp('192.0.2.10:20', VIP, SYN)).kind, 'pass');
  });

  it('port-0 service without persistence cannot schedule: no-dest (spec §2.6)', () => {
    const l = lab();
    l.dest(l.service('tcp', '198.18.0.1:0'), '10.0.0.2:0');
    assert.equal(l.ipvs.inbound(tcp(C, '198.18.0.1:443', SYN)).kind, 'no-dest');
  });

  it('an FTP service passes other ports it catches through the FTP rule when it cannot schedule (spec §2.6)', () => {
    const l = lab();
    l.dest(l.service('tcp', '198.18.0.1:21'), '10.0.0.2:21');
    assert.equal(l.ipvs.inbound(tcp(C, '198.18.0.1:5000', SYN)).kind, 'pass');
  });

  it('cache_bypass: a fwmark service with no server forwards to the original destination (spec §2.6)', () => {
    const l = lab({ sysctls: { cache_bypass: 1 } });
    l.table.addService({ key: { kind: 'fwmark', fwmark: 7, family: 4 }, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff });
    const r = l.ipvs.inbound(tcp(C, '203.0.113.5:80', SYN, { fwmark: 7 }));
    assert.equal(r.kind, 'bypass');
    const again = l.ipvs.inbound(tcp(C, '203.0.113.5:80', ACK, { fwmark: 7 }));
    assert.equal(again.kind, 'bypass');
    if (r.kind === 'bypass' && again.kind === 'bypass') assert.equal(again.conn, r.conn);
  });
});

describe('counters, overload and stats (spec §1, §2.4)', () => {
  it('OVERLOAD is set at u_threshold by new conns and cleared below 3/4 of it as they expire (spec §1)', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    const b = l.dest(k, '10.0.0.3:80');
    const a = l.dest(k, '10.0.0.2:80', { uThreshold: 4 }); // newest first: a is tried first
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = fwd(l.ipvs.inbound(tcp(`192.0.2.10:${1000 + i}`, VIP, SYN)));
      got.push(r.dest === a ? 'a' : 'b');
      l.clock.advance(1000);
    }
    assert.deepEqual(got, ['a', 'a', 'a', 'a', 'b', 'b']);
    assert.ok(a.isOverloaded);
    // SYN_RECV lasts 60 s: the first conn (created at t=0) expires at 60 s → total 3, 3*4 = 12 ≥ 12: still set.
    l.clock.set(60_000);
    l.ipvs.tick();
    assert.equal(a.totalConns, 3);
    assert.ok(a.isOverloaded);
    l.clock.set(61_000);
    l.ipvs.tick();
    assert.equal(a.totalConns, 2);
    assert.ok(!a.isOverloaded);
    assert.equal(b.totalConns, 2);
  });

  it('conns, packets and bytes are counted on dest, service and totals; in/out only while AVAILABLE (spec §2.4)', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    const d = l.dest(k, '10.0.0.2:80', { method: 'masq' });
    l.ipvs.inbound(tcp(C, VIP, SYN, { length: 60 }));
    l.ipvs.inbound(tcp(C, VIP, ACK, { length: 52 }));
    l.ipvs.outbound(tcp('10.0.0.2:80', C, ACK, { length: 1500 }));
    const svc = l.table.getService(k)!;
    for (const s of [d.stats, svc.stats, l.table.totals]) {
      assert.deepEqual([s.conns, s.inPkts, s.inBytes, s.outPkts, s.outBytes], [1, 2, 112, 1, 1500]);
    }
  });
});

describe('IPv6 conns (spec §2.1)', () => {
  it('a NAT conn over IPv6 is found both ways and reports the v6 endpoints (spec §2.1)', () => {
    const l = lab();
    const k = l.service('tcp', '[2001:db8::80]:80');
    const d = l.dest(k, '[2001:db8:1::2]:8080', { method: 'masq' });
    const c = fwd(l.ipvs.inbound(tcp('[2001:db8:2::10]:40000', '[2001:db8::80]:80', SYN)));
    assert.equal(c.dest, d);
    const o = l.ipvs.outbound(tcp('[2001:db8:1::2]:8080', '[2001:db8:2::10]:40000', SYN | ACK));
    if (o.kind !== 'forward') assert.fail(o.kind);
    assert.equal(o.conn, c.conn);
    assert.equal(`${formatEndpoint(o.vaddr, o.vport)} ${formatEndpoint(o.caddr, o.cport)}`, '[2001:db8::80]:80 [2001:db8:2::10]:40000');
    const e = l.ipvs.conns.get(c.conn)!;
    assert.equal(`${formatEndpoint(e.client.addr, e.client.port)} ${formatEndpoint(e.dest.addr, e.dest.port)}`, '[2001:db8:2::10]:40000 [2001:db8:1::2]:8080');
    assert.equal(fwd(l.ipvs.inbound(tcp('[2001:db8:2::10]:40000', '[2001:db8::80]:80', ACK))).conn, c.conn);
    assert.equal(l.ipvs.inbound(tcp('[2001:db8:2::11]:40000', '[2001:db8::80]:80', ACK)).kind, 'pass');
  });

  it('IPv6 persistence groups clients by prefix length (spec §2.7)', () => {
    const l = lab();
    const k = l.service('tcp', '[2001:db8::80]:443', { flags: 0x1, timeoutS: 360, netmask: 64 });
    l.dest(k, '[2001:db8:1::2]:443');
    l.ipvs.inbound(tcp('[2001:db8:2::10]:40000', '[2001:db8::80]:443', SYN));
    l.ipvs.inbound(tcp('[2001:db8:2::ffff:1]:40000', '[2001:db8::80]:443', SYN));
    const tpl = [...l.ipvs.conns.entries()].filter((e) => e.template);
    assert.deepEqual(tpl.map((e) => `${formatEndpoint(e.client.addr, e.client.port)} ${e.controls}`), ['[2001:db8:2::]:0 2']);
  });
});
