// PROXY protocol v1 (text) and v2 (binary), as HAProxy's proxy-protocol.txt defines them:
// encoders for the header tsvs sends to real servers that want the client address, and strict
// decoders for headers tsvs accepts from trusted upstream proxies. The decoders never throw:
// they return a verdict (incomplete / invalid with a reason / ok), so a hostile peer costs a
// counted reset and nothing else.
import { type IpAddress, formatIp, parseIpv4, parseIpv6, parsePort } from '../../core/net/addr.js';

/** PROXY protocol version to send toward a real server: 0 = none. */
export type ProxyProtocolVersion = 0 | 1 | 2;

/** The 12-byte v2 signature. */
export const PP2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The longest v1 header, CRLF included (spec §2.1). */
export const PP1_MAX_LENGTH = 107;
/** The longest v2 header tsvs accepts by default (16-byte fixed part plus addresses and TLVs). */
export const PP2_DEFAULT_MAX_LENGTH = 16 + 2048;

const PP2_CMD_LOCAL = 0x0;
const PP2_CMD_PROXY = 0x1;
const PP2_AF_UNSPEC = 0x0;
const PP2_AF_INET = 0x1;
const PP2_AF_INET6 = 0x2;
const PP2_AF_UNIX = 0x3;
const PP2_T_UNSPEC = 0x0;
const PP2_T_STREAM = 0x1;
const PP2_T_DGRAM = 0x2;

/** The addresses a header carries. */
export interface ProxyAddresses {
  readonly transport: 'tcp' | 'udp';
  readonly src: IpAddress;
  readonly srcPort: number;
  readonly dst: IpAddress;
  readonly dstPort: number;
}

/** One v2 TLV (type, raw value). */
export interface ProxyTlv {
  readonly type: number;
  readonly value: Buffer;
}

/** A decoded header. `addresses` is undefined for LOCAL, UNKNOWN and AF_UNSPEC/AF_UNIX headers. */
export interface ProxyHeader {
  readonly version: 1 | 2;
  readonly command: 'proxy' | 'local';
  readonly addresses: ProxyAddresses | undefined;
  readonly tlvs: readonly ProxyTlv[];
}

/** The decoder's verdict on the bytes received so far. */
export type ProxyDecodeResult =
  | { readonly status: 'incomplete' }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'ok'; readonly header: ProxyHeader; readonly length: number };

const INCOMPLETE: ProxyDecodeResult = { status: 'incomplete' };
const invalid = (reason: string): ProxyDecodeResult => ({ status: 'invalid', reason });

// ------------------------------------------------------------------ encoders

/** A v1 header: "PROXY TCP4 src dst sport dport\r\n" (TCP only; v1 has no UDP). */
export function encodeProxyV1(a: Omit<ProxyAddresses, 'transport'> | undefined): Buffer {
  if (!a || a.src.family !== a.dst.family) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const fam = a.src.family === 4 ? 'TCP4' : 'TCP6';
  return Buffer.from(`PROXY ${fam} ${formatIp(a.src)} ${formatIp(a.dst)} ${a.srcPort} ${a.dstPort}\r\n`, 'latin1');
}

/** A v2 header (PROXY command, or LOCAL when `a` is undefined), with optional TLVs. */
export function encodeProxyV2(a: ProxyAddresses | undefined, tlvs: readonly ProxyTlv[] = []): Buffer {
  let tlvLen = 0;
  for (const t of tlvs) tlvLen += 3 + t.value.length;
  const v6 = a !== undefined && a.src.family === 6;
  const addrLen = a === undefined ? 0 : v6 ? 36 : 12;
  const buf = Buffer.allocUnsafe(16 + addrLen + tlvLen);
  PP2_SIGNATURE.copy(buf, 0);
  if (a === undefined) {
    buf[12] = 0x20 | PP2_CMD_LOCAL;
    buf[13] = (PP2_AF_UNSPEC << 4) | PP2_T_UNSPEC;
  } else {
    if (a.src.family !== a.dst.family) throw new RangeError('Cannot encode a PROXY v2 header as source and destination families differ');
    buf[12] = 0x20 | PP2_CMD_PROXY;
    buf[13] = ((v6 ? PP2_AF_INET6 : PP2_AF_INET) << 4) | (a.transport === 'udp' ? PP2_T_DGRAM : PP2_T_STREAM);
  }
  buf.writeUInt16BE(addrLen + tlvLen, 14);
  let o = 16;
  if (a !== undefined) {
    buf.set(a.src.bytes, o); o += a.src.bytes.length;
    buf.set(a.dst.bytes, o); o += a.dst.bytes.length;
    buf.writeUInt16BE(a.srcPort, o); o += 2;
    buf.writeUInt16BE(a.dstPort, o); o += 2;
  }
  for (const t of tlvs) {
    buf[o] = t.type;
    buf.writeUInt16BE(t.value.length, o + 1);
    t.value.copy(buf, o + 3);
    o += 3 + t.value.length;
  }
  return buf;
}

/**
 * The header of the given version announcing a TCP flow from `src` to `dst` (the address the client
 * reached). Without a usable pair (either unknown, or families that differ: an IPv6 client announced
 * by an IPv4 upstream) it says so: v1 UNKNOWN, v2 LOCAL.
 */
export function encodeTcpProxyHeader(version: 1 | 2, src: IpAddress | undefined, srcPort: number, dst: IpAddress | undefined, dstPort: number): Buffer {
  const a: ProxyAddresses | undefined = src && dst && src.family === dst.family ? { transport: 'tcp', src, srcPort, dst, dstPort } : undefined;
  return version === 1 ? encodeProxyV1(a) : encodeProxyV2(a);
}

// ------------------------------------------------------------------ decoders

/** Decodes a v1 or v2 header at the start of `buf` (strict). */
export function decodeProxyHeader(buf: Buffer, maxV2Length = PP2_DEFAULT_MAX_LENGTH): ProxyDecodeResult {
  if (buf.length === 0) return INCOMPLETE;
  if (buf[0] === 0x50) return decodeProxyV1(buf);
  if (buf[0] === 0x0d) return decodeProxyV2(buf, maxV2Length);
  return invalid('not a PROXY protocol header');
}

const V1_PREFIX = 'PROXY ';

/** Decodes a v1 header strictly: single spaces, strict addresses and ports, CRLF within 107 bytes. */
export function decodeProxyV1(buf: Buffer): ProxyDecodeResult {
  const n = Math.min(buf.length, PP1_MAX_LENGTH);
  for (let i = 0; i < Math.min(n, V1_PREFIX.length); i++) {
    if (buf[i] !== V1_PREFIX.charCodeAt(i)) return invalid('bad v1 signature');
  }
  let end = -1;
  for (let i = V1_PREFIX.length; i < n; i++) {
    const c = buf[i];
    if (c === 0x0d) { end = i; break; }
    if (c === 0x0a) return invalid('bare LF in v1 header');
    if (c < 0x20 || c > 0x7e) return invalid('non-printable byte in v1 header');
  }
  if (end === -1) return buf.length >= PP1_MAX_LENGTH ? invalid('v1 header longer than 107 bytes') : INCOMPLETE;
  if (end + 2 > PP1_MAX_LENGTH) return invalid('v1 header longer than 107 bytes');
  if (end + 1 >= buf.length) return INCOMPLETE;
  if (buf[end + 1] !== 0x0a) return invalid('v1 header not ended by CRLF');
  const length = end + 2;
  const line = buf.toString('latin1', V1_PREFIX.length, end);
  const f = line.split(' ');
  if (f[0] === 'UNKNOWN') {
    return { status: 'ok', length, header: { version: 1, command: 'proxy', addresses: undefined, tlvs: [] } };
  }
  if (f.length !== 5) return invalid('v1 header needs 5 fields after PROXY');
  const parse = f[0] === 'TCP4' ? parseIpv4 : f[0] === 'TCP6' ? parseIpv6 : undefined;
  if (!parse) return invalid(`unknown v1 protocol '${f[0]}'`);
  const src = parse(f[1]);
  const dst = parse(f[2]);
  if (!src || !dst) return invalid('bad address in v1 header');
  const srcPort = parsePort(f[3]);
  const dstPort = parsePort(f[4]);
  if (srcPort === undefined || dstPort === undefined) return invalid('bad port in v1 header');
  return {
    status: 'ok', length,
    header: { version: 1, command: 'proxy', addresses: { transport: 'tcp', src, srcPort, dst, dstPort }, tlvs: [] },
  };
}

/** Decodes a v2 header strictly: signature, version 2, known command/family/transport, sane lengths and TLVs. */
export function decodeProxyV2(buf: Buffer, maxLength = PP2_DEFAULT_MAX_LENGTH): ProxyDecodeResult {
  const sigN = Math.min(buf.length, PP2_SIGNATURE.length);
  for (let i = 0; i < sigN; i++) if (buf[i] !== PP2_SIGNATURE[i]) return invalid('bad v2 signature');
  if (buf.length < 16) return INCOMPLETE;
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) return invalid(`unsupported v2 version ${verCmd >> 4}`);
  const cmd = verCmd & 0x0f;
  if (cmd !== PP2_CMD_LOCAL && cmd !== PP2_CMD_PROXY) return invalid(`unknown v2 command ${cmd}`);
  const fam = buf[13] >> 4;
  const tr = buf[13] & 0x0f;
  if (fam > PP2_AF_UNIX) return invalid(`unknown v2 address family ${fam}`);
  if (tr > PP2_T_DGRAM) return invalid(`unknown v2 transport ${tr}`);
  if ((fam === PP2_AF_UNSPEC) !== (tr === PP2_T_UNSPEC) && cmd === PP2_CMD_PROXY) return invalid('v2 family and transport disagree');
  const len = buf.readUInt16BE(14);
  const total = 16 + len;
  if (total > maxLength) return invalid(`v2 header of ${total} bytes exceeds the limit of ${maxLength}`);
  if (buf.length < total) return INCOMPLETE;
  const addrLen = fam === PP2_AF_INET ? 12 : fam === PP2_AF_INET6 ? 36 : fam === PP2_AF_UNIX ? 216 : 0;
  if (len < addrLen) return invalid('v2 length shorter than its address block');
  const tlvs = decodeTlvs(buf, 16 + addrLen, total);
  if (!tlvs) return invalid('malformed v2 TLV');
  let addresses: ProxyAddresses | undefined;
  if (cmd === PP2_CMD_PROXY && (fam === PP2_AF_INET || fam === PP2_AF_INET6)) {
    const alen = fam === PP2_AF_INET ? 4 : 16;
    const family = fam === PP2_AF_INET ? 4 : 6;
    const src: IpAddress = { family, bytes: Uint8Array.from(buf.subarray(16, 16 + alen)) };
    const dst: IpAddress = { family, bytes: Uint8Array.from(buf.subarray(16 + alen, 16 + 2 * alen)) };
    addresses = {
      transport: tr === PP2_T_DGRAM ? 'udp' : 'tcp',
      src, dst,
      srcPort: buf.readUInt16BE(16 + 2 * alen),
      dstPort: buf.readUInt16BE(18 + 2 * alen),
    };
  }
  return { status: 'ok', length: total, header: { version: 2, command: cmd === PP2_CMD_LOCAL ? 'local' : 'proxy', addresses, tlvs } };
}

function decodeTlvs(buf: Buffer, start: number, end: number): ProxyTlv[] | undefined {
  const out: ProxyTlv[] = [];
  let o = start;
  while (o < end) {
    if (end - o < 3) return undefined;
    const vlen = buf.readUInt16BE(o + 1);
    if (o + 3 + vlen > end) return undefined;
    out.push({ type: buf[o], value: Buffer.from(buf.subarray(o + 3, o + 3 + vlen)) });
    o += 3 + vlen;
  }
  return out;
}
