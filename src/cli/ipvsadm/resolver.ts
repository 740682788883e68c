// Name resolution as ipvsadm does it (gethostbyname/gethostbyaddr, getservbyname/getservbyport),
// behind an interface so the formatters stay pure: the CLI can plug in /etc/hosts, /etc/services
// or DNS results; the default resolves nothing, which prints (and accepts) numbers only.
import type { IpAddress } from '../../core/net/addr.js';
import { inetNtop } from './cstr.js';

/** The protocols ipvsadm resolves service names for; 'ip' (fwmark templates) resolves nothing. */
export type NameProto = 'tcp' | 'udp' | 'sctp' | 'ip';

/** Host and service names, both ways. Every method may return undefined ("not found"). */
export interface NameResolver {
  /** gethostbyaddr: a host name for the address. */
  host(addr: IpAddress): string | undefined;
  /** getservbyport: a service name for the port of the protocol. */
  service(port: number, proto: NameProto): string | undefined;
  /** gethostbyname: an IPv4 address for the name (ipvsadm resolves IPv4 only). */
  hostToAddr(name: string): IpAddress | undefined;
  /** getservbyname: the port of a service name of the protocol. */
  serviceToPort(name: string, proto: NameProto): number | undefined;
}

/** Resolves nothing: addresses and ports print as numbers, and only numbers are accepted. */
export const NUMERIC_RESOLVER: NameResolver = {
  host: () => undefined,
  service: () => undefined,
  hostToAddr: () => undefined,
  serviceToPort: () => undefined,
};

/** ipvsadm's addrport_to_anyname: malloc(60) holds at most 59 characters. */
const ADDRPORT_MAX = 59;

/**
 * ipvsadm's addrport_to_anyname: `addr:port`, `[addr6]:port`; without `numeric` the host and the
 * port are looked up (falling back to numbers). Brackets are added for IPv6 even around names.
 */
export function addrPortName(addr: IpAddress, port: number, proto: NameProto, numeric: boolean, resolver: NameResolver): string {
  const open = addr.family === 4 ? '' : '[';
  const close = addr.family === 4 ? '' : ']';
  let text: string;
  if (numeric) text = `${open}${inetNtop(addr)}${close}:${port}`;
  else {
    const host = resolver.host(addr) ?? inetNtop(addr);
    const svc = (proto === 'ip' ? undefined : resolver.service(port, proto)) ?? String(port);
    text = `${open}${host}${close}:${svc}`;
  }
  return text.length > ADDRPORT_MAX ? text.slice(0, ADDRPORT_MAX) : text;
}
