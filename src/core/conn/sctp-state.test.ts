import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCTP_STATE_NAMES, sctpEvent, sctpNextState } from './sctp-state.js';
import { DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT } from './tcp-state.js';

const INIT = 1, INIT_ACK = 2, SACK = 3, ABORT = 6, SHUTDOWN = 7, SHUTDOWN_ACK = 8, COOKIE_ECHO = 10, COOKIE_ACK = 11, SHUTDOWN_COMPLETE = 14;
const idx = (name: string) => SCTP_STATE_NAMES.indexOf(name);

/** Runs a sequence of [dir, chunk] from NONE and returns the state names visited. */
function walk(steps: [number, number][]): string[] {
  let st = 0;
  return steps.map(([dir, chunk]) => SCTP_STATE_NAMES[(st = sctpNextState(dir, chunk, st))]);
}

describe('SCTP state machine (spec §2.6)', () => {
  it('has the 14 states the spec lists, in kernel order (spec §2.6)', () => {
    assert.deepEqual(SCTP_STATE_NAMES, ['NONE', 'INIT1', 'INIT', 'C-SENT', 'C-REPLIED', 'C-WAIT', 'COOKIE', 'C-ECHOED',
      'ESTABLISHED', 'S-SENT', 'S-RECEIVED', 'S-ACK-SENT', 'REJECTED', 'CLOSED']);
  });

  it('maps chunk types to events; unknown types count as DATA (spec §2.6)', () => {
    assert.equal(sctpEvent(0), 0);
    assert.equal(sctpEvent(INIT), 1);
    assert.equal(sctpEvent(SACK), 0);
    assert.equal(sctpEvent(ABORT), 9);
    assert.equal(sctpEvent(COOKIE_ECHO), 3);
    assert.equal(sctpEvent(SHUTDOWN_COMPLETE), 7);
    assert.equal(sctpEvent(200), 0);
  });

  const cases: [string, [number, number][], string[]][] = [
    ['NAT handshake: client INIT, server INIT-ACK, client COOKIE-ECHO, server COOKIE-ACK',
      [[DIR_INPUT, INIT], [DIR_OUTPUT, INIT_ACK], [DIR_INPUT, COOKIE_ECHO], [DIR_OUTPUT, COOKIE_ACK]],
      ['INIT1', 'C-SENT', 'C-REPLIED', 'ESTABLISHED']],
    ['INIT retransmitted goes INIT1 → INIT', [[DIR_INPUT, INIT], [DIR_INPUT, INIT]], ['INIT1', 'INIT']],
    ['DR (INPUT_ONLY): INIT then COOKIE-ECHO is ESTABLISHED', [[DIR_INPUT_ONLY, INIT], [DIR_INPUT_ONLY, COOKIE_ECHO]], ['INIT1', 'ESTABLISHED']],
    ['ABORT during INIT1 from the server is REJECTED', [[DIR_INPUT, INIT], [DIR_OUTPUT, ABORT]], ['INIT1', 'REJECTED']],
    ['shutdown from the client side', [[DIR_INPUT, INIT], [DIR_OUTPUT, INIT_ACK], [DIR_INPUT, COOKIE_ECHO], [DIR_OUTPUT, COOKIE_ACK],
      [DIR_INPUT, SHUTDOWN], [DIR_OUTPUT, SHUTDOWN_ACK], [DIR_INPUT, SHUTDOWN_COMPLETE]],
    ['INIT1', 'C-SENT', 'C-REPLIED', 'ESTABLISHED', 'S-RECEIVED', 'S-ACK-SENT', 'CLOSED']],
    ['INIT on CLOSED starts over at INIT', [[DIR_INPUT, ABORT], [DIR_INPUT, INIT]], ['CLOSED', 'INIT']],
  ];
  for (const [name, steps, expected] of cases) {
    it(`${name} (spec §2.6)`, () => assert.deepEqual(walk(steps), expected));
  }

  it('DATA in ESTABLISHED stays ESTABLISHED in every direction (spec §2.6)', () => {
    for (const d of [DIR_INPUT, DIR_OUTPUT, DIR_INPUT_ONLY]) assert.equal(sctpNextState(d, 0, idx('ESTABLISHED')), idx('ESTABLISHED'));
  });
});
