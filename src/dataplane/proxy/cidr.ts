// Address prefixes for the trusted-upstream lists of the proxy plane ("10.0.0.0/8", "::1/128").
import { type IpAddress, inPrefix, parseIp } from '../../core/net/addr.js';

/** An address prefix. */
export interface Cidr {
  readonly addr: IpAddress;
  readonly prefix: number;
}

/** Parses "ip/len" or a bare address (a host prefix); throws naming the bad text. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addr = parseIp(slash === -1 ? text : text.slice(0, slash));
  const max = addr?.family === 6 ? 128 : 32;
  const prefix = slash === -1 ? max : Number(text.slice(slash + 1));
  if (!addr || !/^\d{1,3}$/.test(slash === -1 ? String(max) : text.slice(slash + 1)) || prefix > max) {
    throw new Error(`Cannot parse address prefix '${text}': expected ip or ip/len`);
  }
  return { addr, prefix };
}

/** Node reports IPv4 clients of dual-stack sockets as ::ffff:a.b.c.d; this returns a.b.c.d. */
export function unmapIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** True when `ip` (text) lies in any of the prefixes. */
export function inAnyCidr(ip: string, list: readonly Cidr[]): boolean {
  if (list.length === 0) return false;
  const a = parseIp(unmapIp(ip));
  if (!a) return false;
  for (const c of list) if (inPrefix(a, c.addr, c.prefix)) return true;
  return false;
}
