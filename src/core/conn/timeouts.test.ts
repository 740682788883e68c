import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TsvsError } from '../errors.js';
import { SCTP_STATE_NAMES } from './sctp-state.js';
import { makeSysctls, SYSCTL_DEFAULTS } from './sysctls.js';
import { TCP_STATE_NAMES } from './tcp-state.js';
import { CONN_DELAY_MS, INITIAL_TIMEOUT_MS, Timeouts } from './timeouts.js';

describe('timeouts (spec §2.5, §2.6, §10.3)', () => {
  it('TCP state defaults are the spec table (spec §2.5)', () => {
    const spec: Record<string, number> = {
      NONE: 2, ESTABLISHED: 900, SYN_SENT: 120, SYN_RECV: 60, FIN_WAIT: 120, TIME_WAIT: 120,
      CLOSE: 10, CLOSE_WAIT: 60, LAST_ACK: 30, LISTEN: 120, SYNACK: 120,
    };
    const t = new Timeouts();
    for (const [name, s] of Object.entries(spec)) assert.equal(t.tcp[TCP_STATE_NAMES.indexOf(name)], s * 1000, name);
  });

  it('UDP is 300 s; SCTP ESTABLISHED 900 s, INIT1 and REJECTED 4 s, handshake states 61 s (spec §2.6)', () => {
    const t = new Timeouts();
    assert.equal(t.udp[0], 300_000);
    const sctp = (n: string) => t.sctp[SCTP_STATE_NAMES.indexOf(n)];
    assert.equal(sctp('ESTABLISHED'), 900_000);
    assert.equal(sctp('INIT1'), 4_000);
    assert.equal(sctp('REJECTED'), 4_000);
    for (const n of ['INIT', 'C-SENT', 'C-ECHOED', 'S-SENT', 'CLOSED']) assert.equal(sctp(n), 61_000, n);
  });

  it('--timeout shows "tcp 900 tcpfin 120 udp 300" by default (spec §5.6)', () => {
    assert.deepEqual(new Timeouts().get(), { tcp: 900, tcpfin: 120, udp: 300 });
  });

  const setRows: [string, { tcp?: number; tcpfin?: number; udp?: number }, { tcp: number; tcpfin: number; udp: number }][] = [
    ['all three', { tcp: 3600, tcpfin: 30, udp: 60 }, { tcp: 3600, tcpfin: 30, udp: 60 }],
    ['0 leaves a value unchanged', { tcp: 0, tcpfin: 45, udp: 0 }, { tcp: 900, tcpfin: 45, udp: 300 }],
    ['absent leaves a value unchanged', { udp: 10 }, { tcp: 900, tcpfin: 120, udp: 10 }],
  ];
  for (const [name, input, expected] of setRows) {
    it(`--set ${name} (spec §2.5)`, () => {
      const t = new Timeouts();
      t.set(input);
      assert.deepEqual(t.get(), expected);
    });
  }

  it('--set only changes ESTABLISHED, FIN_WAIT and UDP (spec §10.3)', () => {
    const t = new Timeouts();
    t.set({ tcp: 1, tcpfin: 2, udp: 3 });
    const others = TCP_STATE_NAMES.map((_, i) => t.tcp[i]).filter((_, i) => i !== 1 && i !== 4);
    assert.deepEqual(others, [2, 120, 60, 120, 10, 60, 30, 120, 120].map((s) => s * 1000));
  });

  it('--set rejects negative and non-integer values with EINVAL (spec §2.5)', () => {
    const t = new Timeouts();
    assert.throws(() => t.set({ tcp: -1 }), (e: unknown) => e instanceof TsvsError && e.errno === 'EINVAL');
    assert.throws(() => t.set({ udp: 1.5 }), TsvsError);
    assert.deepEqual(t.get(), { tcp: 900, tcpfin: 120, udp: 300 });
  });

  it('a new conn starts with 3 s and a controlling conn is delayed by 60 s (spec §2.4)', () => {
    assert.equal(INITIAL_TIMEOUT_MS, 3000);
    assert.equal(CONN_DELAY_MS, 60000);
  });
});

describe('sysctls (spec §4)', () => {
  it('defaults are the kernel values of the spec table (spec §4)', () => {
    assert.deepEqual({ ...SYSCTL_DEFAULTS }, {
      amemthresh: 1024, am_droprate: 10, drop_entry: 0, drop_packet: 0, secure_tcp: 0, cache_bypass: 0,
      expire_nodest_conn: 0, expire_quiescent_template: 0, sloppy_tcp: 0, sloppy_sctp: 0, conn_reuse_mode: 1,
      schedule_icmp: 0, nat_icmp_send: 0, pmtu_disc: 1, conntrack: 0, snat_reroute: 1, backup_only: 0, ignore_tunneled: 0,
    });
  });

  const bad: [string, number][] = [['drop_entry', 4], ['secure_tcp', -1], ['drop_packet', 1.5], ['sloppy_tcp', 2], ['conn_reuse_mode', 4], ['am_droprate', 0]];
  for (const [name, v] of bad) {
    it(`rejects ${name}=${v} with EINVAL (spec §4 validation)`, () => {
      assert.throws(() => makeSysctls({ [name]: v }), (e: unknown) => e instanceof TsvsError && e.errno === 'EINVAL');
    });
  }

  it('rejects unknown names and accepts overrides (spec §4)', () => {
    assert.throws(() => makeSysctls({ nope: 1 } as never), TsvsError);
    const s = makeSysctls({ drop_entry: 3, conn_reuse_mode: 2, amemthresh: 5000 });
    assert.equal(s.drop_entry, 3);
    assert.equal(s.conn_reuse_mode, 2);
    assert.equal(s.amemthresh, 5000);
    assert.equal(s.expire_nodest_conn, 0);
  });
});
