// TCP_CHECK (spec §7.3): a non-blocking connect; up when the three-way handshake completes, after
// which the socket is closed at once. No payload. Also the shared abortable connect helper.
import net from 'node:net';
import { formatIp } from '../../core/net/addr.js';
import { runProbe, targetText, validateTarget, whenAborted, type CheckResult, type CheckTarget, type Checker } from './checker.js';

/**
 * Opens a TCP connection to `target`, rejecting with the socket error, or as soon as `signal`
 * aborts (the half-open socket is destroyed, so nothing is left behind).
 */
export function connectTcp(target: CheckTarget, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({
      host: formatIp(target.addr),
      port: target.port,
      family: target.addr.family,
      ...(target.bindAddr ? { localAddress: formatIp(target.bindAddr) } : {}),
      ...(target.bindPort !== undefined ? { localPort: target.bindPort } : {}),
    });
    const detach = whenAborted(signal, () => {
      sock.destroy();
      reject(signal.reason);
    });
    sock.once('connect', () => {
      detach();
      sock.removeListener('error', onError);
      resolve(sock);
    });
    const onError = (err: Error): void => {
      detach();
      sock.destroy();
      reject(err);
    };
    sock.once('error', onError);
  });
}

/** TCP_CHECK: success when the handshake completes. */
export class TcpChecker implements Checker {
  private readonly target: CheckTarget;

  /** @param target where to connect (connect_ip/connect_port, bindto/bind_port) */
  constructor(target: CheckTarget) {
    validateTarget('TCP_CHECK', target);
    this.target = target;
  }

  /** @returns "TCP_CHECK 10.0.0.3:80" */
  describe(): string {
    return `TCP_CHECK ${targetText(this.target)}`;
  }

  /** Connects, then closes at once; "connection refused" / "timed out" on failure. */
  check(signal: AbortSignal): Promise<CheckResult> {
    return runProbe(`TCP connect to ${targetText(this.target)}`, signal, async () => {
      const sock = await connectTcp(this.target, signal);
      // keepalived closes right after the handshake; destroy() also frees the fd at once.
      sock.destroy();
      return { detail: 'connected' };
    });
  }
}
