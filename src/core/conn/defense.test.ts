import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SVC_F_PERSISTENT } from '../service/types.js';
import { Defense } from './defense.js';
import type { InResult } from './ipvs.js';
import { makeSysctls } from './sysctls.js';
import { ACK, FIN, SYN, lab, pkt, tcp } from './testing.js';

const VIP = '198.18.0.1:80';
const LOW = 100; // pages: below amemthresh 1024
const OK = 100_000;

describe('defense level evaluation (spec §2.10)', () => {
  // [mode, memory low?] → [in force?, mode afterwards]
  const rows: [number, boolean, boolean, number][] = [
    [0, false, false, 0], [0, true, false, 0],
    [1, false, false, 1], [1, true, true, 2],
    [2, true, true, 2], [2, false, false, 1],
    [3, false, true, 3], [3, true, true, 3],
  ];
  for (const [mode, low, active, after] of rows) {
    it(`drop_entry=${mode} with ${low ? 'low' : 'enough'} memory: ${active ? 'on' : 'off'}, becomes ${after} (spec §2.10)`, () => {
      const s = makeSysctls({ drop_entry: mode, drop_packet: mode, secure_tcp: mode });
      const d = new Defense(s);
      d.update(low ? LOW : OK);
      assert.equal(d.dropEntryActive, active);
      assert.equal(s.drop_entry, after);
      assert.equal(d.dropRate !== 0, active, 'drop_packet follows the same modes');
      assert.equal(s.drop_packet, after);
      assert.equal(d.secureTcp, active, 'secure_tcp follows the same modes');
      assert.equal(s.secure_tcp, after);
    });
  }

  const rates: [number, number][] = [[512, 2], [1000, 42], [0, 1], [1023, 1024]];
  for (const [avail, rate] of rates) {
    it(`drop_packet auto rate = amemthresh / (amemthresh - available): ${avail} pages → 1 in ${rate} (spec §2.10)`, () => {
      const d = new Defense(makeSysctls({ drop_packet: 1 }));
      d.update(avail);
      assert.equal(d.dropRate, rate);
    });
  }

  it('drop_packet drops 1 of every rate new-connection packets: auto starts after rate-1, mode 3 at once (spec §2.10)', () => {
    const auto = new Defense(makeSysctls({ drop_packet: 1 }));
    auto.update(683); // 1024 / 341 = 3
    assert.deepEqual(Array.from({ length: 7 }, () => auto.todrop()), [false, false, true, false, false, true, false]);
    const always = new Defense(makeSysctls({ drop_packet: 3, am_droprate: 4 }));
    always.update(OK);
    assert.deepEqual(Array.from({ length: 6 }, () => always.todrop()), [true, false, false, false, true, false]);
  });
});

describe('defense through the facade (spec §2.10)', () => {
  it('drop_packet=3 drops SYNs at am_droprate, counted, never packets of existing conns (spec §2.10)', () => {
    const l = lab({ sysctls: { drop_packet: 3, am_droprate: 2 } });
    l.dest(l.service('tcp', VIP), '10.0.0.2:80');
    const kinds = [0, 1, 2, 3].map((i) => l.ipvs.inbound(tcp(`192.0.2.10:${1000 + i}`, VIP, SYN)).kind);
    assert.deepEqual(kinds, ['drop', 'forward', 'drop', 'forward']);
    assert.equal(l.ipvs.drops['defense-drop-packet'], 2);
    for (let i = 0; i < 4; i++) assert.equal(l.ipvs.inbound(tcp('192.0.2.10:1001', VIP, ACK)).kind, 'forward');
  });

  it('secure_tcp: DR SYN goes to SYNACK while the memory signal is low, SYN_RECV otherwise (spec §2.5, §2.10)', () => {
    let pages = OK;
    const l = lab({ sysctls: { secure_tcp: 1 }, memory: () => ({ availablePages: pages }) });
    l.dest(l.service('tcp', VIP), '10.0.0.2:80');
    const state = (r: InResult) => (r.kind === 'forward' ? l.ipvs.conns.get(r.conn)!.state : r.kind);
    assert.equal(state(l.ipvs.inbound(tcp('192.0.2.10:1', VIP, SYN))), 'SYN_RECV');
    pages = LOW;
    l.advance(1000);
    assert.equal(l.ipvs.sysctls.secure_tcp, 2);
    assert.equal(state(l.ipvs.inbound(tcp('192.0.2.10:2', VIP, SYN))), 'SYNACK');
    assert.equal(state(l.ipvs.inbound(tcp('192.0.2.10:2', VIP, ACK))), 'ESTABLISHED');
    pages = OK;
    l.advance(1000);
    assert.equal(l.ipvs.sysctls.secure_tcp, 1);
    assert.equal(state(l.ipvs.inbound(tcp('192.0.2.10:3', VIP, SYN))), 'SYN_RECV');
  });

  it('writing a defense sysctl re-evaluates at once (proc_do_defense_mode)', () => {
    const l = lab({ memory: () => ({ availablePages: LOW }) });
    l.ipvs.setSysctl('drop_entry', 1);
    assert.equal(l.ipvs.sysctls.drop_entry, 2);
    assert.ok(l.ipvs.defense.dropEntryActive);
    assert.throws(() => l.ipvs.setSysctl('drop_entry', 4));
  });
});

describe('drop_entry candidates (ip_vs_random_dropentry, spec §2.10)', () => {
  function candidates() {
    const l = lab();
    l.dest(l.service('tcp', VIP), '10.0.0.2:80');
    l.dest(l.service('udp', '198.18.0.1:53'), '10.0.0.2:53');
    const p = l.service('tcp', '198.18.0.1:443', { flags: SVC_F_PERSISTENT, timeoutS: 3600 });
    l.dest(p, '10.0.0.2:443');
    const id = (r: InResult) => (r.kind === 'forward' ? r.conn : -1);
    const ids = {
      synRecv: id(l.ipvs.inbound(tcp('192.0.2.1:1', VIP, SYN))),
      established: (l.ipvs.inbound(tcp('192.0.2.2:1', VIP, SYN)), id(l.ipvs.inbound(tcp('192.0.2.2:1', VIP, ACK)))),
      timeWait: (l.ipvs.inbound(tcp('192.0.2.3:1', VIP, SYN)), id(l.ipvs.inbound(tcp('192.0.2.3:1', VIP, FIN)))),
      udp1: id(l.ipvs.inbound(pkt('udp', '192.0.2.4:1', '198.18.0.1:53'))),
      udp9: -1,
      tplConn: id(l.ipvs.inbound(tcp('192.0.2.5:1', '198.18.0.1:443', SYN))),
    };
    for (let i = 0; i < 9; i++) ids.udp9 = id(l.ipvs.inbound(pkt('udp', '192.0.2.6:1', '198.18.0.1:53')));
    const tpl = [...l.ipvs.conns.entries()].find((e) => e.template)!.id;
    return { l, ids, tpl };
  }

  it('fresh entries: SYN_RECV and non-assured templates without conns only (spec §2.10)', () => {
    const { l, ids, tpl } = candidates();
    const d = l.ipvs.defense;
    const now = l.clock.nowMs();
    const got = Object.fromEntries(Object.entries(ids).map(([n, s]) => [n, d.shouldDrop(l.ipvs.conns, s, now)]));
    assert.deepEqual(got, { synRecv: true, established: false, timeWait: false, udp1: false, udp9: false, tplConn: true });
    assert.equal(d.shouldDrop(l.ipvs.conns, tpl, now), false, 'a template controlling a conn is skipped');
  });

  it('after 60 s idle: ESTABLISHED and UDP with in_pkts 1..8 become candidates, 9+ never (spec §2.10)', () => {
    const { l, ids } = candidates();
    l.clock.advance(60_000); // nothing re-armed: every entry has been idle 60 s
    const d = l.ipvs.defense;
    const now = l.clock.nowMs();
    // in_pkts 2: the first candidate is dropped, then one of every 2.
    assert.deepEqual([1, 2, 3].map(() => d.shouldDrop(l.ipvs.conns, ids.established, now)), [true, false, true]);
    assert.equal(d.shouldDrop(l.ipvs.conns, ids.udp1, now), true);
    assert.equal(d.shouldDrop(l.ipvs.conns, ids.udp9, now), false);
    assert.equal(d.shouldDrop(l.ipvs.conns, ids.timeWait, now), false);
  });

  it('with low memory, tick() drops candidates and keeps the rest (spec §2.10)', () => {
    const l = lab({ sysctls: { drop_entry: 1 }, memory: () => ({ availablePages: LOW }) });
    const k = l.service('tcp', VIP);
    const d = l.dest(k, '10.0.0.2:80');
    for (let i = 0; i < 64; i++) l.ipvs.inbound(tcp(`192.0.2.1:${1000 + i}`, VIP, SYN));
    for (let i = 0; i < 64; i++) { l.ipvs.inbound(tcp(`192.0.2.2:${1000 + i}`, VIP, SYN)); l.ipvs.inbound(tcp(`192.0.2.2:${1000 + i}`, VIP, ACK)); }
    for (let i = 0; i < 30; i++) l.advance(1000);
    assert.equal(l.ipvs.sysctls.drop_entry, 2);
    const states = [...l.ipvs.conns.entries()].map((e) => e.state);
    assert.equal(states.filter((s) => s === 'ESTABLISHED').length, 64);
    const left = states.filter((s) => s === 'SYN_RECV').length;
    assert.ok(left < 64 && left > 0, `some SYN_RECV dropped (${left} left)`);
    assert.equal(d.totalConns, l.ipvs.conns.count);
  });
});

describe('table cap', () => {
  it('at maxConns new conns are dropped as table-full (spec: capacity bound)', () => {
    const l = lab({ maxConns: 4 });
    l.dest(l.service('tcp', VIP), '10.0.0.2:80');
    for (let i = 0; i < 4; i++) assert.equal(l.ipvs.inbound(tcp(`192.0.2.1:${i + 1}`, VIP, SYN)).kind, 'forward');
    assert.deepEqual(l.ipvs.inbound(tcp('192.0.2.1:9', VIP, SYN)), { kind: 'drop', reason: 'table-full' });
    assert.equal(l.ipvs.drops['table-full'], 1);
    assert.equal(l.ipvs.inbound(tcp('192.0.2.1:1', VIP, ACK)).kind, 'forward', 'existing conns keep working');
  });

  it('with drop_entry enabled a full table evicts a half-open conn for the new one', () => {
    const l = lab({ maxConns: 4, sysctls: { drop_entry: 1 } });
    const d = l.dest(l.service('tcp', VIP), '10.0.0.2:80');
    for (let i = 0; i < 4; i++) l.ipvs.inbound(tcp(`192.0.2.1:${i + 1}`, VIP, SYN));
    const r = l.ipvs.inbound(tcp('192.0.2.1:9', VIP, SYN));
    assert.equal(r.kind, 'forward');
    assert.equal(l.ipvs.conns.count, 4);
    assert.equal(d.activeConns, 4);
  });
});
