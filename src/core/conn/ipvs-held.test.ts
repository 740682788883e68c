// inboundAt/outboundAt: the packets of a conn whose caller holds its (slot, serial) skip the hash
// lookup (the proxy plane holds every conn it opened). They must do exactly what inbound/outbound
// do, and a handle whose entry is gone, or whose slot another conn took, must not touch that conn.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SVC_F_ONEPACKET } from '../service/types.js';
import type { InResult, OutResult } from './ipvs.js';
import { ACK, FIN, SYN, type Lab, lab, tcp } from './testing.js';

const C = '192.0.2.10:40000';
const C2 = '192.0.2.11:40001';
const VIP = '198.18.0.1:80';
const RS = '10.0.0.2:80';

function natLab(extra: Partial<Parameters<typeof lab>[0]> = {}): Lab {
  const l = lab(extra);
  l.dest(l.service('tcp', VIP), RS, { method: 'masq' });
  return l;
}

function opened(l: Lab, client = C): { slot: number; serial: number } {
  const r = l.ipvs.inbound(tcp(client, VIP, SYN));
  if (r.kind !== 'forward') assert.fail(`expected forward, got ${r.kind}`);
  return { slot: r.conn, serial: l.ipvs.conns.serialOf(r.conn) };
}

/** What a caller can observe: the verdict, every entry as listed, and the counters. */
function observe(l: Lab, r: InResult | OutResult): unknown {
  const d = [...l.table.services()][0].destinations[0];
  return JSON.parse(JSON.stringify({
    verdict: r.kind === 'forward' ? { kind: r.kind, conn: r.conn, method: r.method } : r,
    entries: [...l.ipvs.conns.entries()].map(({ destination, ...e }) => ({ ...e, destination: destination?.port })),
    dest: { stats: d.stats, active: d.activeConns, inactive: d.inactConns },
  }));
}

describe('Ipvs.inboundAt / outboundAt (a held conn skips the lookup)', () => {
  it('a NAT conn\'s whole life gives the same verdicts, states, timers and counters as inbound/outbound (spec §2.4, §2.5)', () => {
    const full = natLab();
    const held = natLab();
    const h = opened(held);
    opened(full);
    // The point of the held path: no hash lookup at all after the SYN.
    let lookups = 0;
    const { conns } = held.ipvs;
    const [findIn, findOut] = [conns.findIn.bind(conns), conns.findOut.bind(conns)];
    conns.findIn = (k) => { lookups++; return findIn(k); };
    conns.findOut = (k) => { lookups++; return findOut(k); };
    const steps: Array<['in' | 'out', number, number]> = [
      ['out', SYN | ACK, 60], ['in', ACK, 52], ['in', ACK, 552], ['out', ACK, 1552], ['out', FIN | ACK, 52], ['in', ACK, 52], ['in', FIN | ACK, 52],
    ];
    for (const [dir, flags, length] of steps) {
      full.advance(250);
      held.advance(250);
      const rf = dir === 'in' ? full.ipvs.inbound(tcp(C, VIP, flags, { length })) : full.ipvs.outbound(tcp(RS, C, flags, { length }));
      const rh = dir === 'in' ? held.ipvs.inboundAt(h.slot, h.serial, tcp(C, VIP, flags, { length }))
        : held.ipvs.outboundAt(h.slot, h.serial, tcp(RS, C, flags, { length }));
      assert.deepEqual(observe(held, rh), observe(full, rf), `${dir} flags ${flags}`);
    }
    assert.equal([...held.ipvs.conns.entries()][0].state, 'TIME_WAIT');
    assert.equal(lookups, 0, 'the held conn\'s packets looked their entry up');
  });

  it('a handle whose entry expired and whose slot a new conn took leaves that conn alone (the full path: no entry, pass)', () => {
    const l = natLab();
    const old = opened(l);
    l.advance(61_000); // SYN_RECV times out
    assert.equal(l.ipvs.conns.count, 0);
    const next = opened(l, C2);
    assert.equal(next.slot, old.slot, 'the freed slot is reused');
    assert.notEqual(next.serial, old.serial);
    const before = observe(l, { kind: 'pass' });
    assert.deepEqual(l.ipvs.inboundAt(old.slot, old.serial, tcp(C, VIP, ACK, { length: 100 })), { kind: 'pass' });
    assert.equal(l.ipvs.outboundAt(old.slot, old.serial, tcp(RS, C, ACK, { length: 100 })).kind, 'pass');
    assert.deepEqual(observe(l, { kind: 'pass' }), before, 'the new conn is untouched');
  });

  it('a SYN on a held TIME_WAIT conn takes the full path: conn_reuse_mode reschedules it (spec §2.9)', () => {
    const l = natLab();
    const h = opened(l);
    l.ipvs.inboundAt(h.slot, h.serial, tcp(C, VIP, FIN | ACK));
    assert.equal(l.ipvs.conns.get(h.slot)!.state, 'TIME_WAIT');
    const r = l.ipvs.inboundAt(h.slot, h.serial, tcp(C, VIP, SYN));
    assert.ok(r.kind === 'forward' && r.isNew, 'a new conn');
    assert.equal(l.ipvs.conns.holds(h.slot, h.serial), false, 'the old entry is gone');
    assert.equal(l.ipvs.conns.get(r.kind === 'forward' ? r.conn : -1)!.state, 'SYN_RECV');
  });

  it('a held conn of a deleted destination is dropped as on the full path (expire_nodest_conn=0, spec §2.9)', () => {
    const l = natLab();
    const h = opened(l);
    const d = [...l.table.services()][0].destinations[0];
    l.table.deleteDest([...l.table.services()][0].key, d.addr, d.port);
    l.ipvs.destinationRemoved(d);
    assert.deepEqual(l.ipvs.inboundAt(h.slot, h.serial, tcp(C, VIP, ACK)), { kind: 'drop', reason: 'dest-unavailable' });
    assert.equal(l.ipvs.drops['dest-unavailable'], 1);
  });

  it('a reply whose out tuple two conns share is credited to the held conn (the full path credits the first in the probe)', () => {
    const l = lab();
    const [k1, k2] = [l.service('tcp', '198.18.0.1:80'), l.service('tcp', '198.18.0.2:80')];
    l.dest(k1, RS, { method: 'masq' });
    l.dest(k2, RS, { method: 'masq' });
    // One client port to both VIPs, one real server behind both: two conns, one out tuple (RS, C).
    // Verdicts are reused objects: keep the slots.
    const conns = ['198.18.0.1', '198.18.0.2'].map((vip) => {
      const r = l.ipvs.inbound(tcp(C, `${vip}:80`, SYN));
      if (r.kind !== 'forward') assert.fail(r.kind);
      return { vip, slot: r.conn, serial: l.ipvs.conns.serialOf(r.conn) };
    });
    for (const h of [...conns].reverse()) {
      const out = l.ipvs.outboundAt(h.slot, h.serial, tcp(RS, C, SYN | ACK, { length: 60 }));
      if (out.kind !== 'forward') assert.fail(out.kind);
      assert.equal(out.conn, h.slot, 'the held conn is credited');
      assert.equal(out.vaddr.bytes.join('.'), h.vip, 'rewritten to its own VIP');
    }
    assert.deepEqual([k1, k2].map((k) => l.table.getService(k)!.stats.outPkts), [1, 1]);
  });

  it('a one-packet conn has no serial: its handle never matches, so the next datagram schedules anew (spec §2.8)', () => {
    const l = lab();
    l.dest(l.service('udp', VIP, { flags: SVC_F_ONEPACKET }), RS);
    const dgram = { ...tcp(C, VIP, 0), protocol: 'udp' as const };
    const r = l.ipvs.inbound(dgram);
    if (r.kind !== 'forward') assert.fail(r.kind);
    const h = { slot: r.conn, serial: l.ipvs.conns.serialOf(r.conn) };
    assert.equal(h.serial, 0);
    assert.equal(l.ipvs.conns.holds(h.slot, h.serial), false);
    const again = l.ipvs.inboundAt(h.slot, h.serial, dgram);
    assert.ok(again.kind === 'forward' && again.isNew, 'a new one-packet conn, as inbound() gives');
    assert.equal(l.table.getService([...l.table.services()][0].key)!.stats.conns, 2);
  });
});
