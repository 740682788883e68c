// SMTP_CHECK (spec §7.3): connect, expect a 220 banner, send "HELO <helo_name>" (default
// smtpchecker.keepalived.org), expect 250, send QUIT and wait for its reply (any code), as
// keepalived's check_smtp.c state machine does. Multi-line replies ("250-...") are read whole.
import type net from 'node:net';
import { CheckFailure, runProbe, targetText, validateTarget, whenAborted, type CheckResult, type CheckTarget, type Checker } from './checker.js';
import { connectTcp } from './tcp.js';

/** Options of SMTP_CHECK. */
export interface SmtpCheckOptions {
  /** The mail server. */
  readonly target: CheckTarget;
  /** helo_name; default "smtpchecker.keepalived.org". */
  readonly heloName?: string;
}

/** keepalived's default helo_name. */
export const DEFAULT_HELO_NAME = 'smtpchecker.keepalived.org';

const MAX_REPLY_BYTES = 16384;

interface Reply {
  readonly code: number;
  readonly text: string;
}

/** Reads complete SMTP replies (RFC 5321 §4.2: "NNN-" continues, "NNN " ends) off a socket. */
class ReplyReader {
  private buf = '';
  private waiter?: { resolve: (r: Reply) => void; reject: (e: unknown) => void };
  private failure?: unknown;

  constructor(sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      if (this.buf.length > MAX_REPLY_BYTES) this.fail(new CheckFailure(`reply longer than ${MAX_REPLY_BYTES} bytes`));
      else this.pump();
    });
    sock.on('end', () => this.fail(new CheckFailure('connection closed by the server')));
    sock.on('error', (e) => this.fail(e));
    // destroy() (our abort path) emits only 'close': it must still wake a pending next().
    sock.on('close', () => this.fail(new CheckFailure('connection closed')));
  }

  /** Resolves with the next complete reply. */
  next(): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      this.waiter = { resolve, reject };
      this.pump();
    });
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  private pump(): void {
    if (!this.waiter) return;
    let at = 0;
    for (;;) {
      const eol = this.buf.indexOf('\r\n', at);
      if (eol < 0) return;
      const line = this.buf.slice(at, eol);
      at = eol + 2;
      const m = /^(\d{3})([ -]|$)(.*)$/.exec(line);
      if (!m) return this.fail(new CheckFailure(`malformed reply line "${line.slice(0, 60)}"`));
      if (m[2] !== '-') {
        this.buf = this.buf.slice(at);
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve({ code: Number(m[1]), text: line });
        return;
      }
    }
  }
}

/** SMTP_CHECK checker. */
export class SmtpChecker implements Checker {
  private readonly target: CheckTarget;
  private readonly helo: string;

  /** @param opts server and helo_name; validated here (RangeError naming the field). */
  constructor(opts: SmtpCheckOptions) {
    validateTarget('SMTP_CHECK', opts.target);
    this.target = opts.target;
    this.helo = opts.heloName ?? DEFAULT_HELO_NAME;
    if (!/^[\x21-\x7e]+$/.test(this.helo)) {
      throw new RangeError(`Cannot create SMTP_CHECK as 'heloName' must be printable ASCII without spaces: current value is "${this.helo}"`);
    }
  }

  /** @returns "SMTP_CHECK 10.0.0.3:25" */
  describe(): string {
    return `SMTP_CHECK ${targetText(this.target)}`;
  }

  /** Runs banner, HELO and QUIT; fails on a wrong code, a close, an error or the abort. */
  check(signal: AbortSignal): Promise<CheckResult> {
    return runProbe(`SMTP check of ${targetText(this.target)}`, signal, async () => {
      const sock = await connectTcp(this.target, signal);
      const detach = whenAborted(signal, () => sock.destroy());
      try {
        const reader = new ReplyReader(sock);
        const expect = async (code: number, step: string): Promise<Reply> => {
          const r = await reader.next();
          if (code && r.code !== code) throw new CheckFailure(`${step}: expected ${code}, got "${r.text.slice(0, 80)}"`);
          return r;
        };
        await expect(220, 'banner');
        sock.write(`HELO ${this.helo}\r\n`);
        await expect(250, 'HELO');
        sock.write('QUIT\r\n');
        await expect(0, 'QUIT');
        return { detail: 'banner 220, HELO 250, QUIT answered' };
      } finally {
        detach();
        sock.destroy();
      }
    });
  }
}
