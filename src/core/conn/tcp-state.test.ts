import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, TCP_STATE_ACTIVE, TCP_STATE_NAMES, tcpEvent, tcpNextState,
} from './tcp-state.js';

// The expected tables, written independently of the implementation: for each direction and event,
// "current → next" by state name. Normal table from spec §2.5; tcp_states_dos (secure_tcp) from
// ip_vs_proto_tcp.c, which the spec summarises (SYNACK for half-open conns, INPUT_ONLY SYN → SYNACK).
const COLS = ['NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK'];
const FULL: Record<string, string> = {
  sNO: 'NONE', sES: 'ESTABLISHED', sSS: 'SYN_SENT', sSR: 'SYN_RECV', sFW: 'FIN_WAIT', sTW: 'TIME_WAIT',
  sCL: 'CLOSE', sCW: 'CLOSE_WAIT', sLA: 'LAST_ACK', sLI: 'LISTEN', sSA: 'SYNACK',
};
type Rows = Record<'syn' | 'fin' | 'ack' | 'rst', string>;
const SPEC_NORMAL: Record<'INPUT' | 'OUTPUT' | 'INPUT_ONLY', Rows> = {
  INPUT: {
    syn: 'sSR sES sES sSR sSR sSR sSR sSR sSR sSR sSR',
    fin: 'sCL sCW sSS sTW sTW sTW sCL sCW sLA sLI sTW',
    ack: 'sES sES sSS sES sFW sTW sCL sCW sCL sLI sES',
    rst: 'sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sSR',
  },
  OUTPUT: {
    syn: 'sSS sES sSS sSR sSS sSS sSS sSS sSS sLI sSR',
    fin: 'sTW sFW sSS sTW sFW sTW sCL sTW sLA sLI sTW',
    ack: 'sES sES sSS sES sFW sTW sCL sCW sLA sES sES',
    rst: 'sCL sCL sSS sCL sCL sTW sCL sCL sCL sCL sCL',
  },
  INPUT_ONLY: {
    syn: 'sSR sES sES sSR sSR sSR sSR sSR sSR sSR sSR',
    fin: 'sCL sFW sSS sTW sFW sTW sCL sCW sLA sLI sTW',
    ack: 'sES sES sSS sES sFW sTW sCL sCW sCL sLI sES',
    rst: 'sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sCL',
  },
};
const KERNEL_DOS: typeof SPEC_NORMAL = {
  INPUT: {
    syn: 'sSR sES sES sSR sSR sSR sSR sSR sSR sSR sSA',
    fin: 'sCL sCW sSS sTW sTW sTW sCL sCW sLA sLI sSA',
    ack: 'sES sES sSS sSR sFW sTW sCL sCW sCL sLI sSA',
    rst: 'sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sCL',
  },
  OUTPUT: {
    syn: 'sSS sES sSS sSA sSS sSS sSS sSS sSS sLI sSA',
    fin: 'sTW sFW sSS sTW sFW sTW sCL sTW sLA sLI sTW',
    ack: 'sES sES sSS sES sFW sTW sCL sCW sLA sES sES',
    rst: 'sCL sCL sSS sCL sCL sTW sCL sCL sCL sCL sCL',
  },
  INPUT_ONLY: {
    syn: 'sSA sES sES sSR sSA sSA sSA sSA sSA sSA sSA',
    fin: 'sCL sFW sSS sTW sFW sTW sCL sCW sLA sLI sTW',
    ack: 'sES sES sSS sES sFW sTW sCL sCW sCL sLI sES',
    rst: 'sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sCL',
  },
};
const FLAGS = { syn: 0x02, fin: 0x01, ack: 0x10, rst: 0x04 } as const;
const DIRS = { INPUT: DIR_INPUT, OUTPUT: DIR_OUTPUT, INPUT_ONLY: DIR_INPUT_ONLY } as const;

describe('TCP state tables (spec §2.5)', () => {
  for (const [tableName, secure, spec] of [['normal', false, SPEC_NORMAL], ['secure_tcp', true, KERNEL_DOS]] as const) {
    for (const dir of Object.keys(DIRS) as (keyof typeof DIRS)[]) {
      for (const ev of Object.keys(FLAGS) as (keyof typeof FLAGS)[]) {
        it(`${tableName} ${dir} ${ev}: every current state goes where the table says (spec §2.5)`, () => {
          const expected = spec[dir][ev].split(' ').map((a) => FULL[a]);
          const got = COLS.map((_, state) => TCP_STATE_NAMES[tcpNextState(secure, DIRS[dir], FLAGS[ev], state)]);
          assert.deepEqual(got, expected);
        });
      }
    }
  }

  it('event priority is RST > SYN > FIN > ACK and no flag is none (spec §2.5)', () => {
    const rows: [number, number][] = [
      [0x04 | 0x02 | 0x01 | 0x10, 3], [0x02 | 0x01 | 0x10, 0], [0x01 | 0x10, 1], [0x10, 2], [0x08, -1], [0, -1],
    ];
    for (const [flags, ev] of rows) assert.equal(tcpEvent(flags), ev, `flags ${flags}`);
  });

  it('a packet with none of RST/SYN/FIN/ACK moves any state to CLOSE (spec §2.5)', () => {
    for (let st = 0; st < COLS.length; st++) {
      assert.equal(TCP_STATE_NAMES[tcpNextState(false, DIR_INPUT, 0x08 /* PSH only */, st)], 'CLOSE');
    }
  });

  it('ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK are the active states (spec §2.5)', () => {
    const active = COLS.filter((_, i) => TCP_STATE_ACTIVE[i]);
    assert.deepEqual(active, ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'SYNACK']);
  });
});
