import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { u32Of } from './conn-key.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './conn-flags.js';
import { ep } from '../sched/testing.js';
import { SVC_F_ONEPACKET } from '../service/types.js';
import type { InResult } from './ipvs.js';
import { ACK, FIN, SYN, lab, pkt, tcp } from './testing.js';

const C = '192.0.2.10:40000';
const VIP = '198.18.0.1:80';

function connOf(r: InResult): number {
  assert.equal(r.kind, 'forward');
  return r.kind === 'forward' ? r.conn : -1;
}

/** offloadCredit with the tuple of C → VIP. */
function credit(l: ReturnType<typeof lab>, s: number, proto: number, packets: number, bytes: number, client = C): boolean {
  const c = ep(client);
  const v = ep(VIP);
  return l.ipvs.offloadCredit(s, u32Of(c.addr), u32Of(v.addr), c.port, v.port, proto, packets, bytes);
}

/** An ESTABLISHED TCP direct-routing conn C → VIP, and its destination. */
function establishedDr(l: ReturnType<typeof lab>) {
  const d = l.dest(l.service('tcp', VIP), '10.0.0.2:80', { method: 'droute' });
  const s = connOf(l.ipvs.inbound(tcp(C, VIP, SYN)));
  l.ipvs.inbound(tcp(C, VIP, ACK));
  return { d, s };
}

describe('offload: conns whose packets a kernel fast path may forward (ADR 0005)', () => {
  it('only established TCP and UDP direct-routing conns are offloadable (state changes stay in the engine)', () => {
    const l = lab();
    const dr = l.service('tcp', VIP);
    l.dest(dr, '10.0.0.2:80', { method: 'droute' });
    const s = connOf(l.ipvs.inbound(tcp(C, VIP, SYN)));
    assert.equal(l.ipvs.offloadable(s), false, 'SYN_RECV is not offloadable');
    l.ipvs.inbound(tcp(C, VIP, ACK));
    assert.equal(l.ipvs.offloadable(s), true, 'ESTABLISHED is');
    l.ipvs.inbound(tcp(C, VIP, FIN | ACK));
    assert.equal(l.ipvs.offloadable(s), false, 'FIN_WAIT is not');

    const u = l.service('udp', VIP);
    l.dest(u, '10.0.0.2:80', { method: 'droute' });
    const su = connOf(l.ipvs.inbound(pkt('udp', C, VIP)));
    assert.equal(l.ipvs.offloadable(su), true);

    const nat = l.service('udp', '198.18.0.1:53');
    l.dest(nat, '10.0.0.2:53', { method: 'masq' });
    assert.equal(l.ipvs.offloadable(connOf(l.ipvs.inbound(pkt('udp', C, '198.18.0.1:53')))), false, 'NAT rewrites addresses: not offloadable');

    const tun = l.service('udp', '198.18.0.1:54');
    l.dest(tun, '10.0.0.2:54', { method: 'tunnel' });
    assert.equal(l.ipvs.offloadable(connOf(l.ipvs.inbound(pkt('udp', C, '198.18.0.1:54')))), false);
  });

  it('one-packet (-o) conns and deleted destinations are not offloadable (spec §2.8, §2.9)', () => {
    const l = lab();
    const k = l.service('udp', VIP, { flags: SVC_F_ONEPACKET });
    l.dest(k, '10.0.0.2:80', { method: 'droute' });
    const s1 = connOf(l.ipvs.inbound(pkt('udp', C, VIP)));
    // A one-packet conn is gone after its packet: nothing to offload, nothing to credit.
    assert.equal(l.ipvs.offloadable(s1), false);
    assert.equal(credit(l, s1, IPPROTO_UDP, 1, 100), false);

    const l2 = lab();
    const k2 = l2.service('udp', VIP);
    l2.dest(k2, '10.0.0.2:80', { method: 'droute' });
    const s = connOf(l2.ipvs.inbound(pkt('udp', C, VIP)));
    assert.equal(l2.ipvs.offloadable(s), true);
    l2.table.deleteDest(k2, ep('10.0.0.2:80').addr, 80);
    assert.equal(l2.ipvs.offloadable(s), false, 'a deleted destination drops (or expires) its conns here');
    assert.equal(credit(l2, s, IPPROTO_UDP, 1, 100), false);
    assert.equal(l2.table.totals.inPkts, 1, 'packets to a deleted destination are not counted (as inStats)');
  });

  it('a credit counts packets and bytes everywhere and re-arms the timer as those packets would', () => {
    const l = lab();
    const k = l.service('udp', VIP);
    const d = l.dest(k, '10.0.0.2:80', { method: 'droute' });
    const s = connOf(l.ipvs.inbound(pkt('udp', C, VIP, 0, { length: 100 })));
    const before = { dest: d.stats.inPkts, total: l.table.totals.inPkts };
    l.advance(200_000); // 200 of the 300 s UDP timeout
    assert.equal(credit(l, s, IPPROTO_UDP, 5, 500), true);
    assert.equal(d.stats.inPkts - before.dest, 5);
    assert.equal(d.service.stats.inBytes, 100 + 500);
    assert.equal(l.table.totals.inPkts - before.total, 5);
    assert.equal(l.ipvs.conns.get(s)!.inPkts, 1 + 5);
    l.advance(200_000); // 400 s after the first packet, 200 s after the credit: still alive
    assert.equal(l.ipvs.conns.count, 1);
    // A credit of nothing only checks: it must not keep an idle conn alive.
    assert.equal(credit(l, s, IPPROTO_UDP, 0, 0), true);
    l.advance(100_000);
    assert.equal(l.ipvs.conns.count, 0, 'expired 300 s after the last credited packet');
    assert.equal(credit(l, s, IPPROTO_UDP, 1, 100), false, 'an expired conn is not credited');
    assert.equal(l.table.totals.inPkts, 1 + 5);
  });

  it('packets forwarded before a FIN are still counted, and the answer says to stop offloading', () => {
    const l = lab();
    const { d, s } = establishedDr(l);
    l.ipvs.inbound(tcp(C, VIP, FIN | ACK));
    const pk = d.stats.inPkts;
    assert.equal(credit(l, s, IPPROTO_TCP, 3, 180), false);
    assert.equal(d.stats.inPkts, pk + 3);
  });

  it('a credit names the conn by its tuple: a slot reused by another conn is not credited', () => {
    const l = lab();
    const { d, s } = establishedDr(l);
    assert.equal(credit(l, s, IPPROTO_UDP, 1, 60), false, 'wrong protocol');
    assert.equal(credit(l, s, IPPROTO_TCP, 1, 60, '192.0.2.11:40000'), false, 'wrong client');
    const pk = d.stats.inPkts;
    assert.equal(credit(l, s, IPPROTO_TCP, 2, 120), true);
    assert.equal(d.stats.inPkts, pk + 2);
  });
});
