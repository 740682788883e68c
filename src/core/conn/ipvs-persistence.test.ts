import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatEndpoint } from '../net/addr.js';
import type { Destination } from '../service/destination.js';
import { SVC_F_ONEPACKET, SVC_F_PERSISTENT } from '../service/types.js';
import type { ConnEntry } from './conn-view.js';
import type { InResult, Ipvs } from './ipvs.js';
import { ACK, FIN, RST, SYN, lab, pkt, tcp } from './testing.js';

const P = { flags: SVC_F_PERSISTENT, timeoutS: 360 };

function destOf(r: InResult): Destination {
  assert.equal(r.kind, 'forward');
  if (r.kind !== 'forward') throw new Error('not forwarded');
  return r.dest;
}

function templates(ipvs: Ipvs): ConnEntry[] {
  return [...ipvs.conns.entries()].filter((e) => e.template);
}

function show(e: ConnEntry): string {
  return `${e.protocol} ${formatEndpoint(e.client.addr, e.client.port)} ${formatEndpoint(e.virtual.addr, e.virtual.port)} ${formatEndpoint(e.dest.addr, e.dest.port)} ${e.state}`;
}

describe('persistence templates (spec §2.7)', () => {
  const forms: [string, (l: ReturnType<typeof lab>) => void, string][] = [
    ['normal: <proto, caddr, 0, vip, vport, daddr, dport>', (l) => {
      l.dest(l.service('tcp', '198.18.0.1:443', P), '10.0.0.2:8443');
      l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN));
    }, 'TCP 192.0.2.10:0 198.18.0.1:443 10.0.0.2:8443 NONE'],
    ['netmask /24 groups clients: caddr & mask', (l) => {
      l.dest(l.service('tcp', '198.18.0.1:443', { ...P, netmask: 0xffffff00 }), '10.0.0.2:443');
      l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN));
    }, 'TCP 192.0.2.0:0 198.18.0.1:443 10.0.0.2:443 NONE'],
    ['FTP service: vport 0 and dport 0 so that data ports follow', (l) => {
      l.dest(l.service('tcp', '198.18.0.1:21', P), '10.0.0.2:21');
      l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:21', SYN));
    }, 'TCP 192.0.2.10:0 198.18.0.1:0 10.0.0.2:0 NONE'],
    ['port-0 service: vport 0 and dport 0', (l) => {
      l.dest(l.service('tcp', '198.18.0.1:0', P), '10.0.0.2:0');
      l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN));
    }, 'TCP 192.0.2.10:0 198.18.0.1:0 10.0.0.2:0 NONE'],
    ['fwmark service: protocol IP, the mark as address, port 0', (l) => {
      l.table.addService({ key: { kind: 'fwmark', fwmark: 7, family: 4 }, scheduler: 'rr', netmask: 0xffffffff, ...P });
      l.table.addDest({ kind: 'fwmark', fwmark: 7, family: 4 }, { addr: l.dest(l.service('udp', '198.18.9.9:1'), '10.0.0.9:1').addr, port: 0, method: 'droute', weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0, tunCsum: 'nocsum' });
      l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN, { fwmark: 7 }));
    }, 'IP 192.0.2.10:0 0.0.0.7:0 10.0.0.9:0 NONE'],
  ];
  for (const [name, build, expected] of forms) {
    it(`template key, ${name} (spec §2.7)`, () => {
      const l = lab();
      build(l);
      assert.deepEqual(templates(l.ipvs).map(show), [expected]);
    });
  }

  it('FTP: data conns on other ports follow the control conn\'s template to the same server (spec §2.7)', () => {
    const l = lab();
    const k = l.service('tcp', '198.18.0.1:21', P);
    const b = l.dest(k, '10.0.0.3:21');
    const a = l.dest(k, '10.0.0.2:21');
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:21', SYN))), a);
    l.table.editDest(k, { ...a.config(), weight: 0 }); // the scheduler would now pick b
    const r = l.ipvs.inbound(tcp('192.0.2.10:40001', '198.18.0.1:50000', SYN));
    assert.equal(destOf(r), a);
    assert.equal(r.kind === 'forward' && r.dport, 50000); // vport ≠ service port: forwarded to the same port
    assert.notEqual(b, a);
  });

  it('port-0 service: every port of the client sticks, each conn keeps its port (spec §2.7)', () => {
    const l = lab();
    const k = l.service('tcp', '198.18.0.1:0', P);
    l.dest(k, '10.0.0.3:0');
    const a = l.dest(k, '10.0.0.2:0');
    // Results are reused objects: read each before the next call.
    const r1 = l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN));
    const got1 = [destOf(r1), r1.kind === 'forward' && r1.dport];
    l.table.editDest(k, { ...a.config(), weight: 0 });
    const r2 = l.ipvs.inbound(tcp('192.0.2.10:40001', '198.18.0.1:8443', SYN));
    assert.deepEqual(got1, [a, 443]);
    assert.deepEqual([destOf(r2), r2.kind === 'forward' && r2.dport], [a, 8443]);
  });

  it('fwmark: TCP and UDP with the same mark stick to one server (spec §2.7)', () => {
    const l = lab();
    const fk = { kind: 'fwmark', fwmark: 7, family: 4 } as const;
    l.table.addService({ key: fk, scheduler: 'rr', netmask: 0xffffffff, ...P });
    const cfg = (addr: string) => ({ addr: l.dest(l.service('udp', `198.18.9.${addr.split('.')[3]}:1`), `${addr}:1`).addr, port: 0, method: 'droute' as const, weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip' as const, tunPort: 0, tunCsum: 'nocsum' as const });
    l.table.addDest(fk, cfg('10.0.0.3'));
    const a = l.table.addDest(fk, cfg('10.0.0.2'));
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN, { fwmark: 7 }))), a);
    l.table.editDest(fk, { ...a.config(), weight: 0 });
    assert.equal(destOf(l.ipvs.inbound(pkt('udp', '192.0.2.10:5000', '198.18.0.1:53', 0, { fwmark: 7 }))), a);
  });

  it('a template is honoured for a weight-0 destination (spec §2.7, §10.4)', () => {
    const l = lab();
    const k = l.service('tcp', '198.18.0.1:443', { ...P, netmask: 0xffffff00 });
    l.dest(k, '10.0.0.3:443');
    const a = l.dest(k, '10.0.0.2:443');
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN))), a);
    l.table.editDest(k, { ...a.config(), weight: 0 });
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.99:40000', '198.18.0.1:443', SYN))), a);
  });

  it('expire_quiescent_template=1: a weight-0 template is invalidated and the client rescheduled (spec §2.7, §2.9)', () => {
    const l = lab({ sysctls: { expire_quiescent_template: 1 } });
    const k = l.service('tcp', '198.18.0.1:443', P);
    const b = l.dest(k, '10.0.0.3:443');
    const a = l.dest(k, '10.0.0.2:443');
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN))), a);
    l.table.editDest(k, { ...a.config(), weight: 0 });
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.10:40001', '198.18.0.1:443', SYN))), b);
    // The old template is re-keyed with vport/dport 0xffff so it never matches again.
    assert.deepEqual(templates(l.ipvs).map(show).sort(), [
      'TCP 192.0.2.10:0 198.18.0.1:443 10.0.0.3:443 NONE',
      'TCP 192.0.2.10:0 198.18.0.1:65535 10.0.0.2:65535 NONE',
    ]);
  });

  it('a template is honoured for an OVERLOADed destination (spec §2.7)', () => {
    const l = lab();
    const k = l.service('tcp', '198.18.0.1:443', P);
    l.dest(k, '10.0.0.3:443');
    const a = l.dest(k, '10.0.0.2:443', { uThreshold: 1 });
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN))), a);
    assert.ok(a.isOverloaded);
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.10:40001', '198.18.0.1:443', SYN))), a);
    assert.deepEqual([a.activeConns, a.inactConns, a.persistConns], [2, 0, 1]);
  });

  it('a deleted destination\'s template is invalidated and the client rescheduled (spec §2.7)', () => {
    const l = lab();
    const k = l.service('tcp', '198.18.0.1:443', P);
    const b = l.dest(k, '10.0.0.3:443');
    const a = l.dest(k, '10.0.0.2:443');
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN))), a);
    l.table.deleteDest(k, a.addr, a.port);
    assert.equal(destOf(l.ipvs.inbound(tcp('192.0.2.10:40001', '198.18.0.1:443', SYN))), b);
  });

  it('only new conns refresh the template; packets of existing conns do not (spec §2.7)', () => {
    const l = lab();
    const k = l.service('tcp', '198.18.0.1:443', P);
    l.dest(k, '10.0.0.2:443');
    l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN));
    l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', ACK));
    l.advance(100_000);
    assert.equal(l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', ACK)).kind, 'forward');
    assert.equal(templates(l.ipvs)[0].expiresS, 260);
    l.advance(10_000);
    l.ipvs.inbound(tcp('192.0.2.10:40001', '198.18.0.1:443', SYN));
    assert.equal(templates(l.ipvs)[0].expiresS, 360);
    assert.equal(templates(l.ipvs)[0].controls, 2);
  });

  it('a template that still controls conns is re-armed for 60 s, then dies after its last conn (spec §2.4, §2.7)', () => {
    const l = lab();
    const k = l.service('tcp', '198.18.0.1:443', { flags: SVC_F_PERSISTENT, timeoutS: 10 });
    const d = l.dest(k, '10.0.0.2:443');
    l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN));
    l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', ACK)); // ESTABLISHED: 900 s
    l.advance(10_000);
    let t = templates(l.ipvs)[0];
    assert.equal(t.expiresS, 60);
    assert.equal(t.timeoutMs, 60_000); // ip_vs_conn_expire sets cp->timeout = 60 s for good
    l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', FIN | ACK)); // DR: FIN_WAIT, due at t=130 s
    l.advance(60_000); // t=70 s: the template still controls the conn: re-armed to t=130 s
    t = templates(l.ipvs)[0];
    assert.equal(t.expiresS, 60);
    l.advance(30_000);
    l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', RST)); // t=100 s: CLOSE, due at t=110 s
    l.advance(10_000);
    assert.equal(l.ipvs.conns.count, 1); // only the template is left, until its own timer
    l.advance(19_999);
    assert.equal(l.ipvs.conns.count, 1);
    l.advance(1);
    assert.equal(l.ipvs.conns.count, 0);
    assert.deepEqual([d.activeConns, d.inactConns, d.persistConns], [0, 0, 0]);
  });

  it('a controlled conn reaching ESTABLISHED marks the template ASSURED; a UDP reply does too (spec §2.7)', () => {
    const l = lab();
    l.dest(l.service('tcp', '198.18.0.1:443', P), '10.0.0.2:443');
    l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', SYN));
    assert.equal(templates(l.ipvs)[0].state, 'NONE');
    l.ipvs.inbound(tcp('192.0.2.10:40000', '198.18.0.1:443', ACK));
    assert.equal(templates(l.ipvs)[0].state, 'ASSURED');

    const u = lab();
    u.dest(u.service('udp', '198.18.0.1:53', P), '10.0.0.2:53', { method: 'masq' });
    u.ipvs.inbound(pkt('udp', '192.0.2.10:5000', '198.18.0.1:53'));
    u.ipvs.inbound(pkt('udp', '192.0.2.10:5000', '198.18.0.1:53'));
    assert.equal(templates(u.ipvs)[0].state, 'NONE');
    u.ipvs.outbound(pkt('udp', '10.0.0.2:53', '192.0.2.10:5000'));
    assert.equal(templates(u.ipvs)[0].state, 'ASSURED');
  });
});

describe('one-packet scheduling (spec §2.8)', () => {
  it('UDP OPS: no conn is kept, every packet is scheduled and counted (spec §2.8)', () => {
    const l = lab();
    const k = l.service('udp', '198.18.0.1:53', { flags: SVC_F_ONEPACKET });
    const d = l.dest(k, '10.0.0.2:53');
    for (let i = 0; i < 3; i++) {
      const r = l.ipvs.inbound(pkt('udp', '192.0.2.10:5000', '198.18.0.1:53'));
      assert.equal(r.kind === 'forward' && r.isNew, true);
    }
    assert.equal(l.ipvs.conns.count, 0);
    assert.deepEqual([d.activeConns, d.inactConns, d.stats.conns], [0, 0, 3]);
  });

  it('UDP OPS with persistence: the template lives, counts in_pkts and is refreshed by every packet (spec §2.8)', () => {
    const l = lab();
    const k = l.service('udp', '198.18.0.1:53', { flags: SVC_F_ONEPACKET | SVC_F_PERSISTENT, timeoutS: 30 });
    const d = l.dest(k, '10.0.0.2:53');
    l.ipvs.inbound(pkt('udp', '192.0.2.10:5000', '198.18.0.1:53'));
    l.advance(20_000);
    l.ipvs.inbound(pkt('udp', '192.0.2.10:5001', '198.18.0.1:53'));
    const t = templates(l.ipvs);
    assert.equal(l.ipvs.conns.count, 1);
    assert.deepEqual([t[0].inPkts, t[0].controls, t[0].expiresS], [2, 0, 30]);
    assert.deepEqual([d.inactConns, d.persistConns], [0, 1]);
  });

  it('OPS is ignored for TCP (spec §2.8)', () => {
    const l = lab();
    l.dest(l.service('tcp', '198.18.0.1:80', { flags: SVC_F_ONEPACKET }), '10.0.0.2:80');
    l.ipvs.inbound(tcp('192.0.2.10:5000', '198.18.0.1:80', SYN));
    assert.equal(l.ipvs.conns.count, 1);
  });
});
