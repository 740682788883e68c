// Per-state timeouts (spec §2.5, §2.6, §10.3): the kernel's defaults, `ipvsadm --set tcp tcpfin udp`
// (which only touches ESTABLISHED, FIN_WAIT and the UDP state; 0 leaves a value unchanged), the
// 3 s a fresh conn has before its first state transition, and the 60 s re-arm of a conn that
// still controls others when it expires.
import { TsvsError } from '../errors.js';
import { SCTP_STATE_COUNT } from './sctp-state.js';
import { TCP_S_ESTABLISHED, TCP_S_FIN_WAIT, TCP_STATE_COUNT } from './tcp-state.js';
import { UDP_S_NORMAL } from './udp-state.js';

/** cp->timeout of a new conn until its first state transition (ip_vs_conn_new: 3*HZ), spec §2.4. */
export const INITIAL_TIMEOUT_MS = 3_000;
/** The re-arm of a conn that still controls others or is referenced (ip_vs_conn_expire), spec §2.4. */
export const CONN_DELAY_MS = 60_000;
/** Largest value `--set` accepts, in seconds (the kernel's INT_MAX / HZ with HZ = 1000). */
export const MAX_SET_TIMEOUT_S = Math.floor(2147483647 / 1000);

const S = 1000;
/** tcp_timeouts[] (ms), indexed by TCP state. */
export const TCP_DEFAULT_TIMEOUTS_MS: readonly number[] = [
  2 * S, 900 * S, 120 * S, 60 * S, 120 * S, 120 * S, 10 * S, 60 * S, 30 * S, 120 * S, 120 * S,
];
/** udp_timeouts[] (ms). */
export const UDP_DEFAULT_TIMEOUTS_MS: readonly number[] = [300 * S];
const SCTP_MAX_RTO = 61 * S;
/** sctp_timeouts[] (ms), indexed by SCTP state. */
export const SCTP_DEFAULT_TIMEOUTS_MS: readonly number[] = [
  2 * S, 4 * S, SCTP_MAX_RTO, SCTP_MAX_RTO, SCTP_MAX_RTO, SCTP_MAX_RTO, SCTP_MAX_RTO, SCTP_MAX_RTO,
  900 * S, SCTP_MAX_RTO, SCTP_MAX_RTO, SCTP_MAX_RTO, 4 * S, SCTP_MAX_RTO,
];

/** The three values `ipvsadm -L --timeout` shows and `--set` changes, in seconds. */
export interface TimeoutSettings {
  tcp: number;
  tcpfin: number;
  udp: number;
}

/** The live per-state timeout tables (the kernel's per-netns pd->timeout_table). */
export class Timeouts {
  readonly tcp = Uint32Array.from(TCP_DEFAULT_TIMEOUTS_MS);
  readonly udp = Uint32Array.from(UDP_DEFAULT_TIMEOUTS_MS);
  readonly sctp = Uint32Array.from(SCTP_DEFAULT_TIMEOUTS_MS);

  constructor() {
    if (this.tcp.length !== TCP_STATE_COUNT || this.sctp.length !== SCTP_STATE_COUNT) throw new Error('timeout tables out of shape');
  }

  /** `ipvsadm --set tcp tcpfin udp` (ip_vs_set_timeout): 0 or absent leaves a value unchanged. Throws EINVAL. */
  set(t: Partial<TimeoutSettings>): void {
    for (const [name, v] of Object.entries(t)) {
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v < 0 || v > MAX_SET_TIMEOUT_S) {
        throw new TsvsError('EINVAL', `Cannot set the ${name} timeout as it must be 0..${MAX_SET_TIMEOUT_S} seconds: current value is ${v}`);
      }
    }
    if (t.tcp) this.tcp[TCP_S_ESTABLISHED] = t.tcp * S;
    if (t.tcpfin) this.tcp[TCP_S_FIN_WAIT] = t.tcpfin * S;
    if (t.udp) this.udp[UDP_S_NORMAL] = t.udp * S;
  }

  /** The current `tcp tcpfin udp` values in seconds (ipvsadm -L --timeout). */
  get(): TimeoutSettings {
    return {
      tcp: Math.floor(this.tcp[TCP_S_ESTABLISHED] / S),
      tcpfin: Math.floor(this.tcp[TCP_S_FIN_WAIT] / S),
      udp: Math.floor(this.udp[UDP_S_NORMAL] / S),
    };
  }
}
