// The connect-retry policy of a proxied TCP connection, shared by both socket paths (tcp-proxy.ts
// and native/native-session.ts): a refused or timed-out connect is counted as a reset of that
// attempt, and the engine schedules again with every failed real server excluded, up to
// `retries` more attempts; then the client gets a reset (there is no ICMP to send from a socket).
import type { EngineConn } from './engine.js';
import type { TcpProxyCounters } from './tcp-service.js';

/** A session as the retry policy sees it. */
export interface RetryingSession {
  conn: EngineConn | undefined;
  deadline: number;
  /** Connect attempts made so far (the session's connect() counts them). */
  readonly attempts: number;
  readonly listener: { readonly counters: TcpProxyCounters; readonly opts: { readonly retries: number } };
  /** True once the client's socket is gone: there is nothing left to connect for. */
  clientGone(): boolean;
  /** Connects to the real server of `conn` (one more attempt). */
  connect(): void;
  /** Ends the session; the client is gone already. */
  endGone(): void;
  /** Nothing left to try: resets the client and ends the session. */
  refuseClient(): void;
}

/**
 * Ends the engine conn of an attempt that never connected (the client left, the plane stopped,
 * descriptors ran out): reset, so the entry leaves SYN_RECV, and closed; the session holds none.
 */
export function endAttempt(s: { conn: EngineConn | undefined }): void {
  endConn(s.conn);
  s.conn = undefined;
}

/** Reset, then closed: how a conn that never carried a connection leaves the engine. */
function endConn(c: EngineConn | undefined): void {
  if (c) { c.reset(); c.closed(); }
}

/** A connect attempt failed and the caller dropped its socket: count it, then try the next choice or give up. */
export function retryConnect(s: RetryingSession, timeout: boolean): void {
  const { counters, opts } = s.listener;
  if (timeout) counters.connectTimeouts++;
  else counters.connectFailures++;
  if (s.clientGone()) {
    endAttempt(s);
    s.endGone();
    return;
  }
  const next = s.attempts <= opts.retries ? s.conn!.retry() : undefined;
  if (next instanceof Promise) {
    // A remote engine (worker processes) answers later; no connect deadline meanwhile.
    s.deadline = -1;
    next.then((n) => afterRetry(s, n), () => afterRetry(s, undefined));
    return;
  }
  afterRetry(s, next);
}

function afterRetry(s: RetryingSession, next: EngineConn | undefined): void {
  const { counters, opts } = s.listener;
  if (s.clientGone()) {
    endConn(next);
    s.conn = undefined;
    s.endGone();
    return;
  }
  if (next) {
    counters.retries++;
    s.conn = next;
    s.connect();
    return;
  }
  // With retries left, retry() already reset the last conn and found nothing; otherwise do it here.
  if (s.attempts > opts.retries) endConn(s.conn);
  s.conn = undefined;
  counters.gaveUp++;
  s.refuseClient();
}
