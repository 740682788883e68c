import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Destination } from '../service/destination.js';
import { SVC_F_PERSISTENT } from '../service/types.js';
import type { InResult } from './ipvs.js';
import { ACK, FIN, RST, SYN, lab, tcp } from './testing.js';

const C = '192.0.2.10:40000';
const VIP = '198.18.0.1:80';
const RS = '10.0.0.2:80';

function fwd(r: InResult): { conn: number; dest: Destination; isNew: boolean } {
  if (r.kind !== 'forward') assert.fail(`expected forward, got ${r.kind}${r.kind === 'drop' ? ` ${r.reason}` : ''}`);
  return { conn: r.conn, dest: r.dest, isNew: r.isNew };
}

type Step = ['in' | 'out', number];
// How to bring a conn into a state: DR (INPUT_ONLY) or NAT (INPUT/OUTPUT) packet sequences.
const DR_TIME_WAIT: Step[] = [['in', SYN], ['in', FIN]]; // SR --fin--> TW
const DR_CLOSE: Step[] = [['in', SYN], ['in', ACK], ['in', RST]]; // (RST on SYN_RECV stays SYN_RECV)
const DR_FIN_WAIT: Step[] = [['in', SYN], ['in', ACK], ['in', FIN | ACK]];
const DR_ESTABLISHED: Step[] = [['in', SYN], ['in', ACK]];
const NAT_FIN_WAIT: Step[] = [['in', SYN], ['out', SYN | ACK], ['in', ACK], ['out', FIN | ACK]];

describe('conn_reuse_mode: a SYN reusing an entry (spec §2.9)', () => {
  const rows: [string, 'droute' | 'masq', Step[], string, number, boolean][] = [
    ['TIME_WAIT is rescheduled (mode 1)', 'droute', DR_TIME_WAIT, 'TIME_WAIT', 1, true],
    ['CLOSE is rescheduled (mode 1)', 'droute', DR_CLOSE, 'CLOSE', 1, true],
    ['DR FIN_WAIT is reused with mode 1', 'droute', DR_FIN_WAIT, 'FIN_WAIT', 1, false],
    ['DR FIN_WAIT is rescheduled with bit 2 (NOOUTPUT)', 'droute', DR_FIN_WAIT, 'FIN_WAIT', 3, true],
    ['NAT FIN_WAIT is reused even with bit 2 (replies seen)', 'masq', NAT_FIN_WAIT, 'FIN_WAIT', 3, false],
    ['TIME_WAIT is reused with mode 0', 'droute', DR_TIME_WAIT, 'TIME_WAIT', 0, false],
    ['ESTABLISHED is reused', 'droute', DR_ESTABLISHED, 'ESTABLISHED', 1, false],
  ];
  for (const [name, method, steps, state, mode, resched] of rows) {
    it(`${name} (spec §2.9)`, () => {
      const l = lab({ sysctls: { conn_reuse_mode: mode } });
      const d = l.dest(l.service('tcp', VIP), RS, { method });
      for (const [dir, flags] of steps) {
        if (dir === 'in') l.ipvs.inbound(tcp(C, VIP, flags));
        else l.ipvs.outbound(tcp(RS, C, flags));
      }
      const [old] = [...l.ipvs.conns.entries()];
      assert.equal(old.state, state);
      const r = fwd(l.ipvs.inbound(tcp(C, VIP, SYN)));
      assert.equal(r.isNew, resched);
      assert.equal(l.ipvs.conns.count, 1);
      assert.equal(d.totalConns, 1);
      if (resched) assert.equal(l.ipvs.conns.get(r.conn)!.state, 'SYN_RECV');
    });
  }

  it('a conn controlled by a persistence template is never rescheduled (spec §2.9)', () => {
    const l = lab();
    l.dest(l.service('tcp', VIP, { flags: SVC_F_PERSISTENT, timeoutS: 360 }), RS);
    for (const [, f] of DR_TIME_WAIT) l.ipvs.inbound(tcp(C, VIP, f));
    assert.equal(fwd(l.ipvs.inbound(tcp(C, VIP, SYN))).isNew, false);
  });

  it('conntrack=1: the SYN is dropped and the old entry expired, the retransmission gets a new conn (spec §2.9, §10.7)', () => {
    const l = lab({ sysctls: { conntrack: 1 } });
    l.dest(l.service('tcp', VIP), RS);
    for (const [, f] of DR_TIME_WAIT) l.ipvs.inbound(tcp(C, VIP, f));
    const r = l.ipvs.inbound(tcp(C, VIP, SYN));
    assert.deepEqual(r, { kind: 'drop', reason: 'old-conntrack' });
    assert.equal(l.ipvs.drops['old-conntrack'], 1);
    assert.equal(l.ipvs.conns.count, 0);
    l.advance(1000);
    assert.equal(fwd(l.ipvs.inbound(tcp(C, VIP, SYN))).isNew, true);
  });
});

describe('expire_nodest_conn (spec §2.9)', () => {
  it('=0: packets of a deleted destination\'s conns are dropped; re-adding it revives them (spec §2.4, §2.9)', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    const d = l.dest(k, RS);
    for (const [, f] of DR_ESTABLISHED) l.ipvs.inbound(tcp(C, VIP, f));
    l.table.deleteDest(k, d.addr, d.port);
    l.ipvs.destinationRemoved(d);
    assert.deepEqual(l.ipvs.inbound(tcp(C, VIP, ACK)), { kind: 'drop', reason: 'dest-unavailable' });
    assert.deepEqual(l.ipvs.inbound(tcp(C, VIP, SYN)), { kind: 'drop', reason: 'dest-unavailable' });
    assert.equal(l.ipvs.conns.count, 1);
    assert.equal(d.activeConns, 1);
    const again = l.dest(k, RS);
    assert.equal(again, d); // resurrected from the trash with its counters
    assert.equal(fwd(l.ipvs.inbound(tcp(C, VIP, ACK))).dest, d);
  });

  it('=1: a packet of a dead conn expires it; a SYN is rescheduled, other packets pass (spec §2.9)', () => {
    const l = lab({ sysctls: { expire_nodest_conn: 1 } });
    const k = l.service('tcp', VIP);
    const b = l.dest(k, '10.0.0.3:80');
    const a = l.dest(k, RS);
    for (const [, f] of DR_ESTABLISHED) l.ipvs.inbound(tcp(C, VIP, f));
    for (const [, f] of DR_ESTABLISHED) l.ipvs.inbound(tcp('192.0.2.11:1', VIP, f));
    l.table.deleteDest(k, a.addr, a.port); // (not telling ipvs: the per-packet rule alone)
    assert.equal(l.ipvs.inbound(tcp('192.0.2.11:1', VIP, ACK)).kind, 'pass');
    const r = fwd(l.ipvs.inbound(tcp(C, VIP, SYN)));
    assert.deepEqual([r.dest, r.isNew], [b, true]);
    assert.deepEqual([a.activeConns, a.inactConns], [0, 0]);
  });

  it('=1: destinationRemoved expires the dest\'s conns and templates at once (spec §2.9)', () => {
    const l = lab({ sysctls: { expire_nodest_conn: 1 } });
    const k = l.service('tcp', VIP, { flags: SVC_F_PERSISTENT, timeoutS: 360 });
    const b = l.dest(k, '10.0.0.3:80');
    const a = l.dest(k, RS);
    for (const [, f] of DR_ESTABLISHED) l.ipvs.inbound(tcp(C, VIP, f)); // template ASSURED
    l.ipvs.inbound(tcp('192.0.2.11:1', VIP, SYN));
    l.table.editDest(k, { ...a.config(), weight: 0 });
    l.ipvs.inbound(tcp('192.0.2.12:1', VIP, SYN)); // goes to b
    assert.equal(l.ipvs.conns.count, 6);
    l.table.deleteDest(k, a.addr, a.port);
    l.ipvs.destinationRemoved(a);
    assert.equal(l.ipvs.conns.count, 2);
    assert.deepEqual([a.activeConns, a.inactConns, a.persistConns], [0, 0, 0]);
    assert.deepEqual([b.activeConns, b.persistConns], [1, 1]);
  });

  it('=1 with a weight-0 destination: a SYN on an existing entry is rescheduled (spec §2.9)', () => {
    const l = lab({ sysctls: { expire_nodest_conn: 1 } });
    const k = l.service('tcp', VIP);
    const b = l.dest(k, '10.0.0.3:80');
    const a = l.dest(k, RS);
    for (const [, f] of DR_ESTABLISHED) l.ipvs.inbound(tcp(C, VIP, f));
    l.table.editDest(k, { ...a.config(), weight: 0 });
    assert.equal(fwd(l.ipvs.inbound(tcp(C, VIP, ACK))).dest, a); // other packets keep flowing
    assert.deepEqual([fwd(l.ipvs.inbound(tcp(C, VIP, SYN))).dest], [b]);
  });

  it('=0 with a weight-0 destination: a SYN on an existing entry stays (spec §2.9)', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    l.dest(k, '10.0.0.3:80');
    const a = l.dest(k, RS);
    for (const [, f] of DR_ESTABLISHED) l.ipvs.inbound(tcp(C, VIP, f));
    l.table.editDest(k, { ...a.config(), weight: 0 });
    assert.equal(fwd(l.ipvs.inbound(tcp(C, VIP, SYN))).dest, a);
  });
});

describe('flush (ip_vs_conn_flush)', () => {
  it('deletes every conn and template and zeroes the counters', () => {
    const l = lab();
    const k = l.service('tcp', VIP, { flags: SVC_F_PERSISTENT, timeoutS: 360 });
    const d = l.dest(k, RS);
    for (let i = 0; i < 5; i++) for (const [, f] of DR_ESTABLISHED) l.ipvs.inbound(tcp(`192.0.2.${i}:1`, VIP, f));
    assert.equal(l.ipvs.conns.count, 10);
    l.ipvs.flushConns();
    assert.equal(l.ipvs.conns.count, 0);
    assert.deepEqual([d.activeConns, d.inactConns, d.persistConns], [0, 0, 0]);
  });
});
