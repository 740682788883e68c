// struct sockaddr_in / sockaddr_in6 to and from the core's addresses (Linux layout: family in host
// order, port and address in network order).
import { type IpAddress, formatIp } from '../../../core/net/addr.js';
import { rd16, rd32, wr16, wr32 } from '../../../core/packet/frame.js';
import type { FlowAddrs } from '../engine.js';
import { AF_INET, AF_INET6 } from './sys.js';

/** sizeof(struct sockaddr_in6), enough for both families. */
export const SOCKADDR_MAX = 28;

/** Encodes addr:port as a sockaddr (16 bytes for IPv4, 28 for IPv6). */
export function encodeSockaddr(addr: IpAddress, port: number): Uint8Array {
  const v6 = addr.family === 6;
  const b = new Uint8Array(v6 ? 28 : 16);
  b[0] = v6 ? AF_INET6 : AF_INET;
  wr16(b, 2, port);
  b.set(addr.bytes, v6 ? 8 : 4);
  return b;
}

/** A decoded socket address (an IPv4-mapped IPv6 address comes out as IPv4). */
export interface SockAddr {
  readonly addr: IpAddress;
  readonly port: number;
}

/** Interned IPv4 addresses, keyed by value (cleared when full). */
const V4_INTERN = new Map<number, IpAddress>();
// About 200 bytes each: at most about 3 MB, and clearing it only costs the next lookups their object.
const V4_INTERN_MAX = 16384;

/**
 * The IPv4 address at `off`, one object per address value: clients come back from the same
 * addresses (a resolver from fresh ports, a browser over several connections), and a session that
 * lives long enough to be copied by the young-generation collector then carries no address of its
 * own (a 4-byte Uint8Array and its IpAddress were about a third of a UDP session's bytes).
 * Addresses are never written to once made.
 */
function ipv4At(u8: Uint8Array, off: number): IpAddress {
  const v = rd32(u8, off);
  let a = V4_INTERN.get(v);
  if (a === undefined) {
    if (V4_INTERN.size >= V4_INTERN_MAX) V4_INTERN.clear();
    a = { family: 4, bytes: u8.slice(off, off + 4) };
    V4_INTERN.set(v, a);
  }
  return a;
}

/**
 * The sockaddr_in at `off` as one number, ip × 65536 + port (below 2^48: a key and a reply
 * address that cost no string or buffer); -1 for another family.
 */
export function ipv4SockaddrKey(u8: Uint8Array, off: number): number {
  if ((u8[off] | (u8[off + 1] << 8)) !== AF_INET) return -1;
  return rd32(u8, off + 4) * 65536 + rd16(u8, off + 2);
}

/** Writes the sockaddr_in that ipv4SockaddrKey made `key` from at `off`; returns its length (16). */
export function writeIpv4Sockaddr(u8: Uint8Array, off: number, key: number): number {
  u8.fill(0, off, off + 16);
  u8[off] = AF_INET;
  wr16(u8, off + 2, key % 65536);
  wr32(u8, off + 4, Math.floor(key / 65536));
  return 16;
}

/** Decodes the sockaddr at `off` in `u8`; undefined for other families. */
export function decodeSockaddr(u8: Uint8Array, off: number): SockAddr | undefined {
  const family = u8[off] | (u8[off + 1] << 8);
  const port = rd16(u8, off + 2);
  if (family === AF_INET) return { addr: ipv4At(u8, off + 4), port };
  if (family !== AF_INET6) return undefined;
  // ::ffff:a.b.c.d (an IPv4 client of a dual-stack socket) reads as a.b.c.d, as on the Node path.
  let mapped = u8[off + 18] === 0xff && u8[off + 19] === 0xff;
  for (let i = 8; i < 18 && mapped; i++) mapped = u8[off + i] === 0;
  if (mapped) return { addr: ipv4At(u8, off + 20), port };
  return { addr: { family: 6, bytes: u8.slice(off + 8, off + 24) }, port };
}

/** A client's flow: the engine takes the decoded address; the text is made only if asked for (logs, PROXY headers). */
export class AcceptedFlow implements FlowAddrs {
  private ip: string | undefined;
  constructor(readonly clientAddr: IpAddress, readonly clientPort: number, readonly vip: string, readonly vport: number) {}
  get clientIp(): string {
    return (this.ip ??= formatIp(this.clientAddr));
  }
}
