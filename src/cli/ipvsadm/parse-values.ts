// ipvsadm's value parsers (parse_service, parse_netmask, parse_fwmark, parse_timeout,
// parse_sched_flags): what each accepts and the exact message of each refusal (spec §5.2).
import { type IpAddress, ipv4ToU32, parseIpv4 } from '../../core/net/addr.js';
import {
  SVC_F_MH_FALLBACK, SVC_F_MH_PORT, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3, SVC_F_SH_FALLBACK, SVC_F_SH_PORT,
} from '../../core/service/types.js';
import { inetAton, inetPton6, strIsDigit, strtol10, stringToNumber } from './cstr.js';
import { DEF_SCHED } from './options.js';
import type { NameProto, NameResolver } from './resolver.js';

/** A usage error raised while parsing: fail(2, message). */
export class UsageFail extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageFail';
  }
}

/** What parse_service found: SERVICE_ADDR, and SERVICE_PORT when a port was given. */
export interface ParsedAddr {
  readonly addr: IpAddress;
  readonly port: number | undefined;
}

/**
 * parse_service: `host`, `host:port`, `[ipv6]:port` or a bare IPv6 address; host is an inet_aton
 * IPv4 address or a name resolved to IPv4; port is 0..65535 or a service name of `proto`.
 * Undefined when ipvsadm would return SERVICE_NONE. `proto` undefined = no protocol chosen yet.
 */
export function parseService(buf: string, proto: NameProto | undefined, resolver: NameResolver): ParsedAddr | undefined {
  if (strIsDigit(buf)) return undefined;
  let host = buf;
  let portText: string | undefined;
  if (host.startsWith('[')) {
    host = host.slice(1);
    const close = host.indexOf(']');
    if (close === -1) return undefined;
    const after = host.slice(close + 1);
    host = host.slice(0, close);
    if (!after.startsWith(':')) return undefined;
    portText = after.slice(1);
  }
  let addr = inetPton6(host);
  if (!addr) {
    // The IPv4 path looks for the port again in what is left, so "[1.2.3.4]:80" loses its port.
    const colon = host.lastIndexOf(':');
    portText = colon === -1 ? undefined : host.slice(colon + 1);
    if (colon !== -1) host = host.slice(0, colon);
    addr = inetAton(host) ?? resolver.hostToAddr(host);
    if (!addr) return undefined;
  }
  if (portText === undefined) return { addr, port: undefined };
  let port = stringToNumber(portText, 0, 65535);
  if (port === -1 && proto !== undefined && proto !== 'ip') port = resolver.serviceToPort(portText, proto) ?? -1;
  if (port === -1) return undefined;
  return { addr, port };
}

/** parse_netmask for IPv4 services: an inet_aton address or a resolvable name, as a host-order u32. */
export function parseNetmask(buf: string, resolver: NameResolver): number | undefined {
  const a = inetAton(buf) ?? resolver.hostToAddr(buf);
  return a && a.family === 4 ? ipv4ToU32(a) : undefined;
}

/** parse_fwmark: a decimal 1..UINT_MAX. */
export function parseFwmark(buf: string): number {
  const r = strtol10(buf);
  if (r.end !== buf.length || r.end === 0 || r.erange || r.value <= 0n || r.value > 0xffffffffn) {
    throw new UsageFail(`invalid fwmark value \`${buf}' specified`);
  }
  return Number(r.value);
}

/** parse_timeout: a decimal in [min, max]; no value (only for -p) means 360 s. */
export function parseTimeout(buf: string | undefined, min: number, max: number): number {
  if (buf === undefined) return 360;
  const v = stringToNumber(buf, min, max);
  if (v === -1) throw new UsageFail(`invalid timeout value \`${buf}' specified`);
  return v;
}

/**
 * parse_sched_flags: comma-separated flag-1..3, sh-fallback/sh-port (scheduler sh only),
 * mh-fallback/mh-port (mh only); the scheduler defaults to wlc when -s was not given.
 * (ipvsadm crashes on an argument made only of commas; tsvs reports it as an invalid flag.)
 */
export function parseSchedFlags(sched: string, arg: string): number {
  const name = sched || DEF_SCHED;
  const tokens = arg.split(',').filter((t) => t !== '');
  if (tokens.length === 0) throw new UsageFail("invalid scheduler flag `'");
  let flags = 0;
  for (const flag of tokens) {
    const need = (s: string) => {
      if (name !== s) throw new UsageFail(`incompatible scheduler flag \`${flag}'`);
    };
    switch (flag) {
      case 'flag-1': flags |= SVC_F_SCHED1; break;
      case 'flag-2': flags |= SVC_F_SCHED2; break;
      case 'flag-3': flags |= SVC_F_SCHED3; break;
      case 'sh-fallback': flags |= SVC_F_SH_FALLBACK; need('sh'); break;
      case 'sh-port': flags |= SVC_F_SH_PORT; need('sh'); break;
      case 'mh-fallback': flags |= SVC_F_MH_FALLBACK; need('mh'); break;
      case 'mh-port': flags |= SVC_F_MH_PORT; need('mh'); break;
      default: throw new UsageFail(`invalid scheduler flag \`${flag}'`);
    }
  }
  return flags;
}

/** --mcast-group: a multicast IPv6 (when it has ':') or IPv4 address (inet_pton, strict). */
export function parseMcastGroup(buf: string): IpAddress {
  if (buf.includes(':')) {
    const a = inetPton6(buf);
    if (!a || a.bytes[0] !== 0xff) throw new UsageFail(`invalid IPv6 mcast-group \`${buf}'`);
    return a;
  }
  const a = parseIpv4(buf);
  if (!a || a.bytes[0] < 224 || a.bytes[0] > 239) throw new UsageFail(`invalid IPv4 mcast-group \`${buf}'`);
  return a;
}
