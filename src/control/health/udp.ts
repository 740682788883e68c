// UDP_CHECK (spec §7.3): send `payload` (hex; random bytes when absent) on a connected UDP socket.
// An ICMP port unreachable surfaces as ECONNREFUSED and fails the check. Without require_reply the
// check passes when no ICMP error arrives before the time budget (connect_timeout) runs out; with
// it, a reply of min_reply_length..max_reply_length bytes (matching reply_data under reply_mask,
// when given) must arrive.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { formatIp } from '../../core/net/addr.js';
import {
  abortedByTimeout, checkInt, CheckFailure, parseHex, runProbe, targetText, validateTarget, whenAborted,
  type CheckResult, type CheckTarget, type Checker,
} from './checker.js';

/** Options of UDP_CHECK. */
export interface UdpCheckOptions {
  /** Where to send. */
  readonly target: CheckTarget;
  /** payload as hex; default: 8 random bytes per probe. */
  readonly payload?: string;
  /** require_reply: a reply must arrive. */
  readonly requireReply?: boolean;
  /** min_reply_length, default 0. */
  readonly minReplyLength?: number;
  /** max_reply_length, default 255. */
  readonly maxReplyLength?: number;
  /** reply_data as hex: the reply must start with these bytes (under reply_mask). */
  readonly replyData?: string;
  /** reply_mask as hex: bits of reply_data that matter (default all). */
  readonly replyMask?: string;
}

/** UDP_CHECK checker. */
export class UdpChecker implements Checker {
  private readonly target: CheckTarget;
  private readonly payload?: Buffer;
  private readonly requireReply: boolean;
  private readonly minLen: number;
  private readonly maxLen: number;
  private readonly replyData?: Buffer;
  private readonly replyMask?: Buffer;

  /** @param opts target and reply rules; validated here (RangeError naming the field). */
  constructor(opts: UdpCheckOptions) {
    validateTarget('UDP_CHECK', opts.target);
    this.target = opts.target;
    if (opts.payload !== undefined) this.payload = parseHex('UDP_CHECK', 'payload', opts.payload);
    this.requireReply = opts.requireReply ?? false;
    this.minLen = opts.minReplyLength ?? 0;
    this.maxLen = opts.maxReplyLength ?? 255;
    checkInt('UDP_CHECK', 'minReplyLength', this.minLen, 0, 65535);
    checkInt('UDP_CHECK', 'maxReplyLength', this.maxLen, this.minLen, 65535);
    if (opts.replyData !== undefined) this.replyData = parseHex('UDP_CHECK', 'replyData', opts.replyData);
    if (opts.replyMask !== undefined) this.replyMask = parseHex('UDP_CHECK', 'replyMask', opts.replyMask);
  }

  /** @returns "UDP_CHECK 10.0.0.3:53" */
  describe(): string {
    return `UDP_CHECK ${targetText(this.target)}`;
  }

  /** Sends the payload and waits for an ICMP error, a reply, or the end of the time budget. */
  check(signal: AbortSignal): Promise<CheckResult> {
    return runProbe(`UDP probe to ${targetText(this.target)}`, signal, () => this.probe(signal));
  }

  private probe(signal: AbortSignal): Promise<{ detail: string }> {
    return udpExchange(this.target, this.payload ?? randomBytes(8), signal, {
      onReply: (msg) => {
        this.checkReply(msg);
        return `reply of ${msg.length} bytes`;
      },
      // Running out of time with no ICMP error is keepalived's success without require_reply.
      ...(this.requireReply ? {} : { onTimeout: () => 'no ICMP unreachable before the timeout' }),
    });
  }

  private checkReply(msg: Buffer): void {
    if (msg.length < this.minLen || msg.length > this.maxLen) {
      throw new CheckFailure(`reply of ${msg.length} bytes outside ${this.minLen}..${this.maxLen}`);
    }
    const want = this.replyData;
    if (!want) return;
    if (msg.length < want.length) throw new CheckFailure(`reply of ${msg.length} bytes shorter than reply_data (${want.length})`);
    for (let i = 0; i < want.length; i++) {
      const mask = this.replyMask ? (this.replyMask[i] ?? 0xff) : 0xff;
      if ((msg[i]! & mask) !== (want[i]! & mask)) throw new CheckFailure(`reply differs from reply_data at byte ${i}`);
    }
  }
}

/** How udpExchange ends: a reply handler (throw CheckFailure to fail) and an optional timeout verdict. */
export interface UdpExchangeHandlers {
  /** Judges a reply: returns success detail, or throws to fail. */
  readonly onReply: (msg: Buffer) => string;
  /** When set, running out of time (a TimeoutError abort) is a success with this detail. */
  readonly onTimeout?: () => string;
}

/**
 * Sends `payload` once on a UDP socket connected to `target` and settles on the first reply, an
 * ICMP error (ECONNREFUSED on the connected socket), or the abort of `signal`; the socket is
 * closed in every case.
 */
export function udpExchange(target: CheckTarget, payload: Buffer, signal: AbortSignal, h: UdpExchangeHandlers): Promise<{ detail: string }> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(target.addr.family === 4 ? 'udp4' : 'udp6');
    let settled = false;
    const finish = (err: unknown, detail?: string): void => {
      if (settled) return;
      settled = true;
      detach();
      sock.removeAllListeners('message');
      // A late ICMP error must not become an unhandled 'error' event after we are done.
      sock.on('error', () => {});
      try {
        sock.close();
      } catch {
        // already closed
      }
      if (detail !== undefined) resolve({ detail });
      else reject(err);
    };
    const detach = whenAborted(signal, () => {
      if (h.onTimeout && abortedByTimeout(signal)) finish(undefined, h.onTimeout());
      else finish(signal.reason);
    });
    sock.on('error', (e) => finish(e));
    sock.on('message', (msg) => {
      try {
        finish(undefined, h.onReply(msg));
      } catch (e) {
        finish(e);
      }
    });
    const connect = (): void => {
      if (settled) return;
      sock.connect(target.port, formatIp(target.addr), () => {
        if (settled) return;
        sock.send(payload, (err) => {
          if (err) finish(err);
        });
      });
    };
    if (target.bindAddr || target.bindPort !== undefined) {
      sock.bind({ port: target.bindPort ?? 0, ...(target.bindAddr ? { address: formatIp(target.bindAddr) } : {}) }, connect);
    } else {
      connect();
    }
  });
}
