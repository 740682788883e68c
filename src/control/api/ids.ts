// Resource identifiers of the REST API. A service is "tcp:10.0.0.1:80", "udp:[2001:db8::1]:53",
// "sctp:10.0.0.1:5060", "fwm:7" (IPv4 firewall-mark service) or "fwm6:7" (IPv6); a real server
// is "10.0.0.2:80" or "[2001:db8::2]:80". They appear URL-encoded as one path segment. Parsing
// is strict (src/core/net/addr.ts): no hostnames, no zone ids, decimal ports and marks without
// leading zeros. Formatting is canonical (RFC 5952), so every service has exactly one id.
import { type Endpoint, formatEndpoint, parseEndpoint } from '../../core/net/addr.js';
import type { Protocol, ServiceKey } from '../../core/service/types.js';

const ADDR_SERVICE = /^(tcp|udp|sctp):(.+)$/;
const FWM_SERVICE = /^fwm(6?):(0|[1-9][0-9]{0,9})$/;

/** Parses a service id; undefined when it is not one. */
export function parseServiceId(text: string): ServiceKey | undefined {
  const f = FWM_SERVICE.exec(text);
  if (f) {
    const fwmark = Number(f[2]);
    if (fwmark < 1 || fwmark > 0xffffffff) return undefined;
    return { kind: 'fwmark', fwmark, family: f[1] === '6' ? 6 : 4 };
  }
  const a = ADDR_SERVICE.exec(text);
  if (!a) return undefined;
  const e = parseEndpoint(a[2]);
  if (!e) return undefined;
  return { kind: 'addr', protocol: a[1] as Protocol, addr: e.addr, port: e.port };
}

/** The canonical id of a service key. */
export function formatServiceId(key: ServiceKey): string {
  if (key.kind === 'fwmark') return `fwm${key.family === 6 ? '6' : ''}:${key.fwmark >>> 0}`;
  return `${key.protocol}:${formatEndpoint(key.addr, key.port)}`;
}

/** Parses a real server id ("ip:port" or "[ip6]:port"); undefined when it is not one. */
export function parseRealServerId(text: string): Endpoint | undefined {
  return parseEndpoint(text);
}

/** The canonical id of a real server. */
export function formatRealServerId(e: Endpoint): string {
  return formatEndpoint(e.addr, e.port);
}
