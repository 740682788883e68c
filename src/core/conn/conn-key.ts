// The lookup key of the connection table, filled in place from a packet (no allocation per
// packet). In-lookups and templates use (client, virtual); out-lookups use (server, client side).
import type { IpAddress } from '../net/addr.js';

/** XOR of the four 32-bit words of a 16-byte address (the same fold for keys and stored conns). */
export function fold16(b: Uint8Array, off = 0): number {
  let x = 0;
  for (let i = off; i < off + 16; i += 4) x ^= (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
  return x >>> 0;
}

/** Reads an IPv4 address as an unsigned 32-bit number. */
export function u32Of(a: IpAddress): number {
  const b = a.bytes;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

/** A reusable tuple key: two endpoints, a protocol and the family. */
export class ConnKey {
  /** IP protocol number (0 for fwmark templates). */
  proto = 0;
  v6 = false;
  /** Persistence-template lookup (in-lookups only). */
  template = false;
  /** First endpoint: the client (in) or the server (out); IPv4 value or IPv6 fold. */
  a1 = 0;
  p1 = 0;
  /** Second endpoint: the virtual address (in) or the client-side address (out). */
  a2 = 0;
  p2 = 0;
  /** Full IPv6 addresses of both endpoints (used when v6). */
  readonly b1 = new Uint8Array(16);
  readonly b2 = new Uint8Array(16);

  /** Sets the first endpoint from an address. */
  setFirst(a: IpAddress, port: number): this {
    this.p1 = port;
    if (a.family === 4) { this.v6 = false; this.a1 = u32Of(a); }
    else { this.v6 = true; this.b1.set(a.bytes); this.a1 = fold16(a.bytes); }
    return this;
  }

  /** Sets the second endpoint from an address (same family as the first). */
  setSecond(a: IpAddress, port: number): this {
    this.p2 = port;
    if (a.family === 4) this.a2 = u32Of(a);
    else { this.b2.set(a.bytes); this.a2 = fold16(a.bytes); }
    return this;
  }
}
