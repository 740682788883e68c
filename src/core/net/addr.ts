// IPv4 and IPv6 addresses: strict parsing, canonical formatting (RFC 5952), masking and the
// integer folds the kernel's hashes use. Strict means: decimal dotted quads only (no "1..2.3",
// "0x10.1.1.1", "1e2.0.0.1", no leading zeros that inet_aton would read as octal), and IPv6 text
// without zone ids.

/** 4 for IPv4, 6 for IPv6. */
export type AddressFamily = 4 | 6;

/** An IP address as network-order bytes (4 or 16 of them). Treat as immutable. */
export interface IpAddress {
  readonly family: AddressFamily;
  readonly bytes: Uint8Array;
}

/** An address and a port, as `ip:port` or `[ip6]:port` in text. */
export interface Endpoint {
  readonly addr: IpAddress;
  readonly port: number;
}

const DEC_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses a dotted-quad IPv4 address strictly; undefined when it is not one. */
export function parseIpv4(text: string): IpAddress | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!DEC_OCTET.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    bytes[i] = v;
  }
  return { family: 4, bytes };
}

/** Parses IPv6 text (with `::` and an optional trailing dotted quad); undefined when invalid. */
export function parseIpv6(text: string): IpAddress | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const dbl = text.indexOf('::');
  if (dbl !== -1 && text.indexOf('::', dbl + 1) !== -1) return undefined;
  const head = dbl === -1 ? text : text.slice(0, dbl);
  const tail = dbl === -1 ? '' : text.slice(dbl + 2);
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const words: number[] = [];
  const tailWords: number[] = [];
  const groupsToWords = (groups: string[], out: number[], mayEndWithV4: boolean): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && mayEndWithV4 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return false;
        out.push((v4.bytes[0] << 8) | v4.bytes[1], (v4.bytes[2] << 8) | v4.bytes[3]);
        continue;
      }
      if (!HEX_GROUP.test(g)) return false;
      out.push(parseInt(g, 16));
    }
    return true;
  };
  if (dbl === -1) {
    if (!groupsToWords(headGroups, words, true) || words.length !== 8) return undefined;
  } else {
    if (!groupsToWords(headGroups, words, false)) return undefined;
    if (!groupsToWords(tailGroups, tailWords, true)) return undefined;
    const missing = 8 - words.length - tailWords.length;
    if (missing < 1) return undefined;
    for (let i = 0; i < missing; i++) words.push(0);
    words.push(...tailWords);
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = words[i] >>> 8;
    bytes[2 * i + 1] = words[i] & 0xff;
  }
  return { family: 6, bytes };
}

/** Parses an IPv4 or IPv6 address; undefined when it is neither. */
export function parseIp(text: string): IpAddress | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/** Formats an address canonically: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run as ::). */
export function formatIp(a: IpAddress): string {
  const b = a.bytes;
  if (a.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i] << 8) | b[2 * i + 1]);
  // IPv4-mapped addresses keep the dotted form (RFC 5952 §5).
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((x) => x.toString(16)).join(':');
  if (bestStart === -1) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** Formats IPv6 in the kernel's %pI6 form: eight 4-digit lowercase groups, nothing compressed. */
export function formatIpv6Full(a: IpAddress): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((a.bytes[i] << 8) | a.bytes[i + 1]).toString(16).padStart(4, '0'));
  return parts.join(':');
}

/** Formats `ip:port`, or `[ip6]:port`. */
export function formatEndpoint(addr: IpAddress, port: number): string {
  return addr.family === 6 ? `[${formatIp(addr)}]:${port}` : `${formatIp(addr)}:${port}`;
}

/** Builds an IPv4 address from its 32-bit value (host integer, first octet most significant). */
export function ipv4FromU32(v: number): IpAddress {
  return { family: 4, bytes: new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]) };
}

/** The 32-bit value of an IPv4 address (`ntohl(addr)` in kernel terms), unsigned. */
export function ipv4ToU32(a: IpAddress): number {
  const b = a.bytes;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

/**
 * The kernel's `ip_vs_addr_fold`-style 32-bit value used by the sh/dh/lblc hashes, already in host
 * order: IPv4 → ntohl(addr); IPv6 → ntohl(w0 ^ w1 ^ w2 ^ w3) (XOR of the four words is order-free).
 */
export function addrFold(a: IpAddress): number {
  if (a.family === 4) return ipv4ToU32(a);
  let x = 0;
  for (let i = 0; i < 16; i += 4) x ^= (a.bytes[i] << 24) | (a.bytes[i + 1] << 16) | (a.bytes[i + 2] << 8) | a.bytes[i + 3];
  return x >>> 0;
}

/** True when both addresses are the same family and bytes. */
export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  if (a.family !== b.family) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

/** A string key for maps (canonical text). */
export function ipKey(a: IpAddress): string {
  return formatIp(a);
}

/** The mask for a prefix length (0..32 or 0..128) of the family. */
export function prefixMask(family: AddressFamily, prefixLen: number): IpAddress {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefixLen - 8 * i));
    bytes[i] = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return { family, bytes };
}

/** The prefix length of a contiguous mask, or undefined when the mask has holes. */
export function maskPrefixLength(mask: IpAddress): number | undefined {
  let len = 0;
  let ended = false;
  for (const byte of mask.bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set && ended) return undefined;
      if (set) len++;
      else ended = true;
    }
  }
  return len;
}

/** `a & mask` (families must match). */
export function applyMask(a: IpAddress, mask: IpAddress): IpAddress {
  const bytes = new Uint8Array(a.bytes.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = a.bytes[i] & (mask.bytes[i] ?? 0);
  return { family: a.family, bytes };
}

/** An address prefix ("10.0.0.0/8", "2001:db8::/32"; a bare address is a host prefix). */
export interface Prefix {
  readonly addr: IpAddress;
  readonly prefixLen: number;
}

/** Parses "ip/len" or a bare address strictly (decimal length within the family); undefined when invalid. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  const addr = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!addr) return undefined;
  const max = addr.family === 4 ? 32 : 128;
  if (slash === -1) return { addr, prefixLen: max };
  const lenText = text.slice(slash + 1);
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) return undefined;
  return { addr, prefixLen: Number(lenText) };
}

/** True when `a` lies in `net/prefixLen`. */
export function inPrefix(a: IpAddress, net: IpAddress, prefixLen: number): boolean {
  if (a.family !== net.family) return false;
  return ipEquals(applyMask(a, prefixMask(a.family, prefixLen)), applyMask(net, prefixMask(a.family, prefixLen)));
}

/**
 * Parses `ip:port` or `[ip6]:port` strictly (port 0..65535, decimal, no leading zeros beyond "0").
 * Returns undefined when the text is not of that form.
 */
export function parseEndpoint(text: string): Endpoint | undefined {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') return undefined;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    const addr = parseIpv6(host);
    const port = parsePort(portText);
    return addr && port !== undefined ? { addr, port } : undefined;
  }
  const colon = text.lastIndexOf(':');
  if (colon === -1 || text.indexOf(':') !== colon) return undefined;
  host = text.slice(0, colon);
  portText = text.slice(colon + 1);
  const addr = parseIpv4(host);
  const port = parsePort(portText);
  return addr && port !== undefined ? { addr, port } : undefined;
}

/** True when both endpoints name the same address and port. */
export function endpointEquals(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && ipEquals(a.addr, b.addr);
}

/** True when both texts parse as endpoints and name the same one (127.0.0.1:80 and 127.0.0.001:80, [::1]:80 and [0::1]:80). */
export function sameEndpoint(a: string, b: string): boolean {
  const x = parseEndpoint(a), y = parseEndpoint(b);
  return x !== undefined && y !== undefined && endpointEquals(x, y);
}

/** Parses a decimal port 0..65535; undefined otherwise. */
export function parsePort(text: string): number | undefined {
  if (!/^(?:0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const v = Number(text);
  return v <= 65535 ? v : undefined;
}

/** The all-zero address of a family. */
export function anyAddress(family: AddressFamily): IpAddress {
  return { family, bytes: new Uint8Array(family === 4 ? 4 : 16) };
}

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(a: IpAddress): boolean {
  if (a.family === 4) return a.bytes[0] === 127;
  return a.bytes.every((b, i) => (i === 15 ? b === 1 : b === 0));
}
