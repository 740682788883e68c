// The contract every health checker implements (conventions §15, spec §7.3), plus the small
// helpers they share: target description, abort handling and turning errors into detail text.
import { performance } from 'node:perf_hooks';
import { formatEndpoint, type IpAddress } from '../../core/net/addr.js';

/** The outcome of one probe: up or down, how long it took, and why, in words. */
export interface CheckResult {
  /** True when the probe succeeded. */
  readonly ok: boolean;
  /** Wall time the probe took, in milliseconds. */
  readonly durationMs: number;
  /** Context for logs and the API, e.g. "TCP connect to 10.0.0.3:80: connection refused". */
  readonly detail: string;
  /** MISC_CHECK misc_dynamic only: the weight the exit status asks for (status − 2), spec §7.2. */
  readonly weight?: number;
}

/** One health check of one real server. `check` must stop all I/O promptly once `signal` aborts. */
export interface Checker {
  /** Runs one probe; never rejects: failures, timeouts and aborts come back as `ok: false`. */
  check(signal: AbortSignal): Promise<CheckResult>;
  /** A short description, e.g. "TCP_CHECK 10.0.0.3:80". */
  describe(): string;
  /** A bound of the checker's own that replaces the runner's connect_timeout (misc_timeout). */
  readonly timeoutMs?: number;
}

/** Where a network checker connects: connect_ip/connect_port, and optional bindto/bind_port. */
export interface CheckTarget {
  /** connect_ip (default: the real server's address). */
  readonly addr: IpAddress;
  /** connect_port (default: the real server's port). */
  readonly port: number;
  /** bindto: local source address. */
  readonly bindAddr?: IpAddress;
  /** bind_port: local source port. */
  readonly bindPort?: number;
}

/** Thrown inside a probe to fail it with exactly this detail text. */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
}

/** The name of an abort reason that means "the probe ran out of time" rather than "stopped". */
export const TIMEOUT_REASON_NAME = 'TimeoutError';

/** An abort reason meaning the probe's time budget (connect_timeout) ran out. */
export function timeoutReason(ms: number): Error {
  const e = new Error(`timed out after ${ms} ms`);
  e.name = TIMEOUT_REASON_NAME;
  return e;
}

/** True when `signal` was aborted because its time budget ran out (AbortSignal.timeout or the runner). */
export function abortedByTimeout(signal: AbortSignal): boolean {
  const r: unknown = signal.reason;
  return signal.aborted && typeof r === 'object' && r !== null && (r as { name?: unknown }).name === TIMEOUT_REASON_NAME;
}

/** Checks a target's ports at construction, naming the checker and field on error. */
export function validateTarget(kind: string, target: CheckTarget): void {
  checkPort(kind, 'port', target.port, false);
  if (target.bindPort !== undefined) checkPort(kind, 'bindPort', target.bindPort, true);
  if (target.bindAddr && target.bindAddr.family !== target.addr.family) {
    throw new RangeError(`Cannot create ${kind} as 'bindAddr' must have the family of the target: current value is IPv${target.bindAddr.family}`);
  }
}

function checkPort(kind: string, field: string, v: number, allowZero: boolean): void {
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1) || v > 65535) {
    throw new RangeError(`Cannot create ${kind} as '${field}' must be an integer in ${allowZero ? 0 : 1}..65535: current value is ${v}`);
  }
}

/** Checks that an option is an integer within [min, max], naming the checker and option. */
export function checkInt(kind: string, field: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`Cannot create ${kind} as '${field}' must be an integer in ${min}..${max}: current value is ${v}`);
  }
}

/** "ip:port" (or "[ip6]:port") of a target. */
export function targetText(target: CheckTarget): string {
  return formatEndpoint(target.addr, target.port);
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EADDRINUSE: 'address already in use',
  EPIPE: 'broken pipe',
};

/** Words for why a probe failed: the abort reason when aborted, else the error's errno or message. */
export function failureText(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return abortedByTimeout(signal) ? 'timed out' : 'aborted';
  if (err instanceof CheckFailure) return err.message;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ERRNO_TEXT[code]) return ERRNO_TEXT[code];
  return err instanceof Error ? err.message : String(err);
}

/** What a successful probe body returns: detail text, and a weight for dynamic checkers. */
export interface ProbeSuccess {
  readonly detail: string;
  readonly weight?: number;
}

/**
 * Runs one probe body and shapes its outcome into a CheckResult with timing. The body throws
 * (CheckFailure or a socket error) to fail; `prefix` names the probe ("TCP connect to 10.0.0.3:80").
 */
export async function runProbe(
  prefix: string,
  signal: AbortSignal,
  body: () => Promise<ProbeSuccess>,
): Promise<CheckResult> {
  const start = performance.now();
  const took = (): number => Math.max(0, performance.now() - start);
  if (signal.aborted) return { ok: false, durationMs: 0, detail: `${prefix}: ${failureText(undefined, signal)}` };
  try {
    const r = await body();
    const detail = r.detail ? `${prefix}: ${r.detail}` : prefix;
    return r.weight === undefined
      ? { ok: true, durationMs: took(), detail }
      : { ok: true, durationMs: took(), detail, weight: r.weight };
  } catch (err) {
    return { ok: false, durationMs: took(), detail: `${prefix}: ${failureText(err, signal)}` };
  }
}

/**
 * Calls `onAbort` once when `signal` aborts (or at once if it already has); returns a function
 * that removes the listener, so a finished probe leaves nothing attached to a long-lived signal.
 */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  if (signal.aborted) {
    onAbort();
    return () => {};
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** Parses a hex string ("0a1B", spaces allowed) into bytes; throws RangeError naming the option. */
export function parseHex(kind: string, field: string, text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new RangeError(`Cannot create ${kind} as '${field}' must be hex digits in pairs: current value is "${text}"`);
  }
  return Buffer.from(clean, 'hex');
}
