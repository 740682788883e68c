// Address prefixes for the trusted-upstream lists of the proxy plane ("10.0.0.0/8", "::1/128").
import { type Prefix, inPrefix, parseIp, parsePrefix } from '../../core/net/addr.js';

/** An address prefix. */
export type Cidr = Prefix;

/** Parses "ip/len" or a bare address (a host prefix); throws naming the bad text. */
export function parseCidr(text: string): Cidr {
  const p = parsePrefix(text);
  if (!p) throw new Error(`Cannot parse address prefix '${text}': expected ip or ip/len`);
  return p;
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
  for (const c of list) if (inPrefix(a, c.addr, c.prefixLen)) return true;
  return false;
}
