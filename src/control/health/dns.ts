// DNS_CHECK (spec §7.3): one UDP query of `type` (default SOA) for `name` (default ".") with RD
// set; up when a reply with the query's id, QR set and RCODE 0 (NOERROR) arrives. keepalived's
// defaults for this checker (retry 3, delay_before_retry = delay_loop) live in runner.ts.
import { randomInt } from 'node:crypto';
import { CheckFailure, runProbe, targetText, validateTarget, type CheckResult, type CheckTarget, type Checker } from './checker.js';
import { udpExchange } from './udp.js';

/** Query types DNS_CHECK accepts, with their RR type numbers (RFC 1035, RFC 3596). */
export const DNS_TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 } as const;

/** A DNS_CHECK query type. */
export type DnsType = keyof typeof DNS_TYPES;

/** Options of DNS_CHECK. */
export interface DnsCheckOptions {
  /** The server to ask. */
  readonly target: CheckTarget;
  /** Query type; default "SOA". */
  readonly type?: DnsType;
  /** Query name; default "." (the root). */
  readonly name?: string;
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** Encodes a domain name as DNS labels; throws RangeError on an empty or over-long label. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const parts: Buffer[] = [];
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      const b = Buffer.from(label, 'ascii');
      if (b.length === 0 || b.length > 63) {
        throw new RangeError(`Cannot create DNS_CHECK as every label of 'name' must be 1..63 bytes: current value is "${name}"`);
      }
      parts.push(Buffer.from([b.length]), b);
    }
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new RangeError(`Cannot create DNS_CHECK as 'name' must encode in 255 bytes: current value is "${name}"`);
  return out;
}

/** Builds a query: header (id, RD, one question), then QNAME, QTYPE, QCLASS IN. */
export function buildQuery(id: number, qname: Buffer, qtype: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, qname, tail]);
}

/** Judges a reply to query `id`: returns detail text, or throws CheckFailure naming the fault. */
export function judgeReply(id: number, msg: Buffer): string {
  if (msg.length < 12) throw new CheckFailure(`reply of ${msg.length} bytes is shorter than a DNS header`);
  const gotId = msg.readUInt16BE(0);
  if (gotId !== id) throw new CheckFailure(`reply id ${gotId} does not match query id ${id}`);
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) === 0) throw new CheckFailure('reply has QR clear (a query, not a response)');
  const rcode = flags & 0x000f;
  if (rcode !== 0) throw new CheckFailure(`RCODE ${rcode} (${RCODE_NAMES[rcode] ?? 'error'})`);
  return `NOERROR, ${msg.readUInt16BE(6)} answers`;
}

/** DNS_CHECK checker. */
export class DnsChecker implements Checker {
  private readonly target: CheckTarget;
  private readonly type: DnsType;
  private readonly name: string;
  private readonly qname: Buffer;

  /** @param opts server, type and name; validated here (RangeError naming the field). */
  constructor(opts: DnsCheckOptions) {
    validateTarget('DNS_CHECK', opts.target);
    this.target = opts.target;
    this.type = opts.type ?? 'SOA';
    if (!Object.hasOwn(DNS_TYPES, this.type)) {
      throw new RangeError(`Cannot create DNS_CHECK as 'type' must be one of ${Object.keys(DNS_TYPES).join('|')}: current value is ${this.type}`);
    }
    this.name = opts.name ?? '.';
    this.qname = encodeName(this.name);
  }

  /** @returns "DNS_CHECK 10.0.0.3:53 SOA ." */
  describe(): string {
    return `DNS_CHECK ${targetText(this.target)} ${this.type} ${this.name}`;
  }

  /** Sends one query with a fresh random id and judges the first reply. */
  check(signal: AbortSignal): Promise<CheckResult> {
    const id = randomInt(0, 0x10000);
    const query = buildQuery(id, this.qname, DNS_TYPES[this.type]);
    return runProbe(`DNS ${this.type} ${this.name} query to ${targetText(this.target)}`, signal, () =>
      udpExchange(this.target, query, signal, { onReply: (msg) => judgeReply(id, msg) }),
    );
  }
}
