// String keys for the control-path maps of the service table.
import { type IpAddress, formatEndpoint, ipKey } from '../net/addr.js';
import type { Protocol, ServiceKey } from './types.js';

/** The map key of an address service. */
export function addrServiceKey(protocol: Protocol, addr: IpAddress, port: number): string {
  return `${protocol}|${ipKey(addr)}|${port}`;
}

const PROTO_INDEX: Record<Protocol, number> = { tcp: 0, udp: 1, sctp: 2 };

/**
 * (protocol, IPv4 address bytes, port) as one exact number — address * 2^18 + port * 4 +
 * protocol — for lookups on the packet path that must not build strings.
 */
export function v4ServiceKey(protocol: Protocol, b: Uint8Array, port: number): number {
  return (((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0) * 262144 + port * 4 + PROTO_INDEX[protocol];
}

/** The map key of a fwmark service. */
export function fwmarkServiceKey(family: 4 | 6, fwmark: number): string {
  return `fwm|${family}|${fwmark >>> 0}`;
}

/** The map key of any service key. */
export function serviceKeyString(key: ServiceKey): string {
  return key.kind === 'addr' ? addrServiceKey(key.protocol, key.addr, key.port) : fwmarkServiceKey(key.family, key.fwmark);
}

/** The map key of a destination within its service. */
export function destKeyString(addr: IpAddress, port: number): string {
  return `${ipKey(addr)}|${port}`;
}

/** Human text for a service key, as ipvsadm names it: "TCP 10.0.0.1:80" or "FWM 7". */
export function describeServiceKey(key: ServiceKey): string {
  if (key.kind === 'fwmark') return `FWM ${key.fwmark}${key.family === 6 ? ' IPv6' : ''}`;
  return `${key.protocol.toUpperCase()} ${formatEndpoint(key.addr, key.port)}`;
}
