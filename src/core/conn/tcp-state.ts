// The TCP state machine of ip_vs_proto_tcp.c (spec §2.5): states, which of them count as active,
// the event derived from the flags (RST > SYN > FIN > ACK, none → CLOSE), and the two tables
// (normal and secure_tcp's tcp_states_dos), each with INPUT, OUTPUT and INPUT_ONLY halves.

export const TCP_S_NONE = 0;
export const TCP_S_ESTABLISHED = 1;
export const TCP_S_SYN_SENT = 2;
export const TCP_S_SYN_RECV = 3;
export const TCP_S_FIN_WAIT = 4;
export const TCP_S_TIME_WAIT = 5;
export const TCP_S_CLOSE = 6;
export const TCP_S_CLOSE_WAIT = 7;
export const TCP_S_LAST_ACK = 8;
export const TCP_S_LISTEN = 9;
export const TCP_S_SYNACK = 10;
export const TCP_STATE_COUNT = 11;

/** State names as /proc/net/ip_vs_conn and ipvsadm -Lc print them. */
export const TCP_STATE_NAMES: readonly string[] = [
  'NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK',
];

/** Whether a state counts in the destination's activeconns (tcp_state_active_table, spec §2.5). */
export const TCP_STATE_ACTIVE: readonly boolean[] = [false, true, true, true, false, false, false, false, false, false, true];

/** TCP flag bits as PacketMeta.tcpFlags carries them. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** Packet direction as the state tables see it. */
export const DIR_INPUT = 0;
export const DIR_OUTPUT = 1;
export const DIR_INPUT_ONLY = 2;

/** Event index from the flags, in the kernel's priority: RST 3, SYN 0, FIN 1, ACK 2; -1 when none is set. */
export function tcpEvent(flags: number): number {
  if (flags & TCP_RST) return 3;
  if (flags & TCP_SYN) return 0;
  if (flags & TCP_FIN) return 1;
  if (flags & TCP_ACK) return 2;
  return -1;
}

// Rows are written as the spec prints them: for one direction and event, the next state for each
// current state in the order NO ES SS SR FW TW CL CW LA LI SA.
const ABBREV: Record<string, number> = { NO: 0, ES: 1, SS: 2, SR: 3, FW: 4, TW: 5, CL: 6, CW: 7, LA: 8, LI: 9, SA: 10 };

function table(rows: readonly string[]): Uint8Array {
  // rows: 3 directions × 4 events (syn, fin, ack, rst) → index [dir*4 + event][state]
  const t = new Uint8Array(rows.length * TCP_STATE_COUNT);
  rows.forEach((row, r) => {
    const cells = row.trim().split(/\s+/);
    if (cells.length !== TCP_STATE_COUNT) throw new Error(`bad TCP state row ${r}`);
    cells.forEach((c, s) => { t[r * TCP_STATE_COUNT + s] = ABBREV[c]; });
  });
  return t;
}

// Event order inside each direction is the kernel's: syn 0, fin 1, ack 2, rst 3.
const NORMAL = table([
  // INPUT
  'SR ES ES SR SR SR SR SR SR SR SR',
  'CL CW SS TW TW TW CL CW LA LI TW',
  'ES ES SS ES FW TW CL CW CL LI ES',
  'CL CL CL SR CL CL CL CL LA LI SR',
  // OUTPUT
  'SS ES SS SR SS SS SS SS SS LI SR',
  'TW FW SS TW FW TW CL TW LA LI TW',
  'ES ES SS ES FW TW CL CW LA ES ES',
  'CL CL SS CL CL TW CL CL CL CL CL',
  // INPUT_ONLY
  'SR ES ES SR SR SR SR SR SR SR SR',
  'CL FW SS TW FW TW CL CW LA LI TW',
  'ES ES SS ES FW TW CL CW CL LI ES',
  'CL CL CL SR CL CL CL CL LA LI CL',
]);

// tcp_states_dos: SYNACK holds half-open conns; for NAT, ESTABLISHED needs the full handshake.
const SECURE = table([
  // INPUT
  'SR ES ES SR SR SR SR SR SR SR SA',
  'CL CW SS TW TW TW CL CW LA LI SA',
  'ES ES SS SR FW TW CL CW CL LI SA',
  'CL CL CL SR CL CL CL CL LA LI CL',
  // OUTPUT
  'SS ES SS SA SS SS SS SS SS LI SA',
  'TW FW SS TW FW TW CL TW LA LI TW',
  'ES ES SS ES FW TW CL CW LA ES ES',
  'CL CL SS CL CL TW CL CL CL CL CL',
  // INPUT_ONLY
  'SA ES ES SR SA SA SA SA SA SA SA',
  'CL FW SS TW FW TW CL CW LA LI TW',
  'ES ES SS ES FW TW CL CW CL LI ES',
  'CL CL CL SR CL CL CL CL LA LI CL',
]);

/**
 * The next TCP state (set_tcp_state): `dir` is DIR_INPUT/DIR_OUTPUT/DIR_INPUT_ONLY (the caller has
 * already turned INPUT into INPUT_ONLY for NOOUTPUT conns); `secure` selects tcp_states_dos.
 */
export function tcpNextState(secure: boolean, dir: number, flags: number, state: number): number {
  const ev = tcpEvent(flags);
  if (ev < 0) return TCP_S_CLOSE;
  return (secure ? SECURE : NORMAL)[(dir * 4 + ev) * TCP_STATE_COUNT + state];
}
