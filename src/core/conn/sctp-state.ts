// The SCTP state machine of ip_vs_proto_sctp.c (spec §2.6): 14 states seen from the real server,
// an event per first chunk type, and one table per direction (INPUT, OUTPUT, INPUT_ONLY). Only
// ESTABLISHED counts as active.

export const SCTP_S_NONE = 0;
export const SCTP_S_INIT1 = 1;
export const SCTP_S_INIT = 2;
export const SCTP_S_COOKIE_SENT = 3;
export const SCTP_S_COOKIE_REPLIED = 4;
export const SCTP_S_COOKIE_WAIT = 5;
export const SCTP_S_COOKIE = 6;
export const SCTP_S_COOKIE_ECHOED = 7;
export const SCTP_S_ESTABLISHED = 8;
export const SCTP_S_SHUTDOWN_SENT = 9;
export const SCTP_S_SHUTDOWN_RECEIVED = 10;
export const SCTP_S_SHUTDOWN_ACK_SENT = 11;
export const SCTP_S_REJECTED = 12;
export const SCTP_S_CLOSED = 13;
export const SCTP_STATE_COUNT = 14;

/** Names as /proc/net/ip_vs_conn prints them. */
export const SCTP_STATE_NAMES: readonly string[] = [
  'NONE', 'INIT1', 'INIT', 'C-SENT', 'C-REPLIED', 'C-WAIT', 'COOKIE', 'C-ECHOED', 'ESTABLISHED',
  'S-SENT', 'S-RECEIVED', 'S-ACK-SENT', 'REJECTED', 'CLOSED',
];

/** SCTP chunk types (RFC 4960 §3.2) that matter here. */
export const SCTP_CID_DATA = 0;
export const SCTP_CID_INIT = 1;
export const SCTP_CID_INIT_ACK = 2;
export const SCTP_CID_ABORT = 6;
export const SCTP_CID_SHUTDOWN = 7;
export const SCTP_CID_SHUTDOWN_ACK = 8;
export const SCTP_CID_ERROR = 9;
export const SCTP_CID_COOKIE_ECHO = 10;
export const SCTP_CID_COOKIE_ACK = 11;
export const SCTP_CID_SHUTDOWN_COMPLETE = 14;

// Events: data 0, init 1, init_ack 2, cookie_echo 3, cookie_ack 4, shutdown 5, shutdown_ack 6,
// shutdown_complete 7, error 8, abort 9. Chunk types 0..14 map as sctp_events does; every other
// type counts as DATA.
const CHUNK_EVENT: readonly number[] = [0, 1, 2, 0, 0, 0, 9, 5, 6, 8, 3, 4, 0, 0, 7];
const EVENTS = 10;

/** The event index for a first chunk type. */
export function sctpEvent(chunkType: number): number {
  return chunkType >= 0 && chunkType < CHUNK_EVENT.length ? CHUNK_EVENT[chunkType] : 0;
}

const ABBREV: Record<string, number> = {
  NO: 0, I1: 1, IN: 2, CS: 3, CR: 4, CW: 5, CO: 6, CE: 7, ES: 8, SS: 9, SR: 10, SA: 11, RJ: 12, CL: 13,
};

function table(rows: readonly string[]): Uint8Array {
  const t = new Uint8Array(rows.length * SCTP_STATE_COUNT);
  rows.forEach((row, r) => {
    const cells = row.trim().split(/\s+/);
    if (cells.length !== SCTP_STATE_COUNT) throw new Error(`bad SCTP state row ${r}`);
    cells.forEach((c, s) => { t[r * SCTP_STATE_COUNT + s] = ABBREV[c]; });
  });
  return t;
}

// Columns: NO I1 IN CS CR CW CO CE ES SS SR SA RJ CL; rows per direction in event order.
const STATES = table([
  // INPUT
  'ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL', // data
  'I1 IN IN CS CR CW CO CE ES SS SR SA IN IN', // init
  'CW CW CW CS CR CO CO CE ES SS SR SA RJ CL', // init_ack
  'CR IN IN CR CR CW CO CE ES SS SR SA RJ CL', // cookie_echo
  'ES I1 IN CS CR CW CO ES ES SS SR SA RJ CL', // cookie_ack
  'SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL', // shutdown
  'CL IN IN CS CR CW CO CE ES CL SR CL RJ CL', // shutdown_ack
  'CL CL CL CS CR CW CO CE ES SS SR CL RJ CL', // shutdown_complete
  'CL I1 IN CS CR CW CO CL ES SS SR SA RJ CL', // error
  'CL CL CL CL CL RJ CL CL CL CL CL CL CL CL', // abort
  // OUTPUT
  'ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'CW CW CW CW CW CW CW CW ES CW CW CW CW CW',
  'CS CS CS CS CR CW CO CE ES SS SR SA RJ CL',
  'CE CE CE CE CE CE CE CE ES SS SR SA RJ CL',
  'ES ES ES ES ES ES ES ES ES SS SR SA RJ CL',
  'SS SS SS SS SS SS SS SS SS SS SR SA RJ CL',
  'SA SA SA SA SA CW CO CE ES SA SA SA RJ CL',
  'CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'CL CL CL CL CL CW CO CE ES SS SR SA RJ CL',
  'CL RJ CL CL CL CL CL CL CL CL CL CL CL CL',
  // INPUT_ONLY
  'ES I1 IN CS CR ES CO CE ES SS SR SA RJ CL',
  'I1 IN IN IN IN IN CO CE ES SS SR SA IN IN',
  'CE CE CE CE CE CE CO CE ES SS SR SA RJ CL',
  'ES ES ES ES ES ES CO CE ES SS SR SA RJ CL',
  'ES I1 IN ES ES CW ES ES ES SS SR SA RJ CL',
  'SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL',
  'CL IN IN CS CR CW CO CE CL CL SR CL RJ CL',
  'CL CL CL CL CL CW CO CE ES SS CL CL RJ CL',
  'CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'CL CL CL CL CL RJ CL CL CL CL CL CL CL CL',
]);

/** The next SCTP state (set_sctp_state); `dir` is DIR_INPUT/DIR_OUTPUT/DIR_INPUT_ONLY as for TCP. */
export function sctpNextState(dir: number, chunkType: number, state: number): number {
  return STATES[(dir * EVENTS + sctpEvent(chunkType)) * SCTP_STATE_COUNT + state];
}
