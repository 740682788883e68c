// ICMP / ICMPv6 errors tsvs sends: port unreachable (no destination, spec §2.6), fragmentation
// needed / packet too big (spec §3 MTU rule) and time exceeded (TTL <= 1, spec §3). They quote
// the offending packet as the kernel's icmp_send / icmp6_send do: IPv4 quotes as much as keeps the
// error within 576 bytes, IPv6 within the 1280-byte minimum MTU; TOS = (tos & 0x1e) | 0xc0, TTL 64,
// DF clear; and no error is sent about an ICMP error, a non-first IPv4 fragment, or to/from
// multicast, broadcast or unspecified addresses (RFC 1122 §3.2.2, RFC 4443 §2.4).
import { checksum, pseudoSum6, ipv4HeaderChecksum } from '../net/checksum.js';
import { type ParsedFrame, IPPROTO_ICMP, IPPROTO_ICMPV6, BUILD_NO_ROOM, BUILD_NOT_APPLICABLE, BUILD_SUPPRESSED, copyBytes, rd16, wr16, wr32 } from './frame.js';
import { quotedIpv4HeaderLen, ipv4IsSpecial } from './ipv4.js';
import { ipv6IsSpecial, ipv6UpperProto, ipv6UpperOff } from './ipv6.js';
import { writeReplyL2 } from './ethernet.js';
import { ICMPV6_FIRST_INFO_TYPE, icmp4IsError } from './l4.js';

/** Kinds of error (mapped to the family's type/code). */
export const ICMP_ERR_PORT_UNREACH = 1;
/** IPv4 fragmentation needed (type 3 code 4) / ICMPv6 packet too big; carries the MTU. */
export const ICMP_ERR_FRAG_NEEDED = 2;
export const ICMP_ERR_TIME_EXCEEDED = 3;

/** Largest ICMPv4 error (RFC 1812 §4.3.2.3, icmp_send's 576-byte room). */
export const ICMP4_ERROR_MAX = 576;
/** Largest ICMPv6 error (RFC 4443 §2.4(c): the IPv6 minimum MTU). */
export const ICMP6_ERROR_MAX = 1280;
/** TTL / hop limit of the errors (the kernel's default ip_default_ttl / hop_limit). */
export const ICMP_ERROR_TTL = 64;

const addr = new Uint8Array(32); // scratch: quoted src (reply dst) then reply src

/**
 * Writes an IP + ICMP error about the IP packet buf[qOff, qEnd) at out[o..] (no L2 header),
 * within `cap` bytes. The reply goes to the quoted source; its source is `src` (4/16 bytes) or,
 * when null, the quoted destination (the VIP the packet was sent to, as icmp_send picks a local
 * destination). `mtu` is used by ICMP_ERR_FRAG_NEEDED; `ipId` fills the IPv4 identification.
 * The output may overlap the quoted bytes (they are moved first). Returns the IP length or BUILD_*.
 */
export function writeIcmpError(out: Uint8Array, o: number, cap: number, buf: Uint8Array, qOff: number, qEnd: number,
  kind: number, mtu: number, src: Uint8Array | null, ipId: number): number {
  if (qOff >= qEnd) return BUILD_NOT_APPLICABLE;
  const v = buf[qOff] >>> 4;
  if (v === 4) {
    const hl = quotedIpv4HeaderLen(buf, qOff, qEnd);
    if (hl === 0) return BUILD_NOT_APPLICABLE;
    if (ipv4IsSpecial(buf, qOff + 12) || ipv4IsSpecial(buf, qOff + 16)) return BUILD_SUPPRESSED;
    if ((rd16(buf, qOff + 6) & 0x1fff) !== 0) return BUILD_SUPPRESSED;
    if (buf[qOff + 9] === IPPROTO_ICMP) {
      if (qOff + hl >= qEnd) return BUILD_SUPPRESSED; // type unreadable
      const t = buf[qOff + hl];
      if (t > 18 || icmp4IsError(t)) return BUILD_SUPPRESSED;
    }
    const qlen = Math.min(qEnd - qOff, ICMP4_ERROR_MAX - 28);
    if (cap < 28 + qlen) return BUILD_NO_ROOM;
    const tos = buf[qOff + 1];
    for (let i = 0; i < 4; i++) {
      addr[i] = buf[qOff + 12 + i];
      addr[16 + i] = src ? src[i] : buf[qOff + 16 + i];
    }
    copyBytes(out, o + 28, buf, qOff, qlen);
    out[o] = 0x45;
    out[o + 1] = (tos & 0x1e) | 0xc0;
    wr16(out, o + 2, 28 + qlen);
    wr16(out, o + 4, ipId & 0xffff);
    wr16(out, o + 6, 0);
    out[o + 8] = ICMP_ERROR_TTL;
    out[o + 9] = IPPROTO_ICMP;
    for (let i = 0; i < 4; i++) { out[o + 12 + i] = addr[16 + i]; out[o + 16 + i] = addr[i]; }
    ipv4HeaderChecksum(out, o, 20);
    const m = o + 20;
    out[m] = kind === ICMP_ERR_TIME_EXCEEDED ? 11 : 3;
    out[m + 1] = kind === ICMP_ERR_PORT_UNREACH ? 3 : kind === ICMP_ERR_FRAG_NEEDED ? 4 : 0;
    wr32(out, m + 4, kind === ICMP_ERR_FRAG_NEEDED ? mtu & 0xffff : 0);
    wr16(out, m + 2, 0);
    wr16(out, m + 2, checksum(out, m, 8 + qlen));
    return 28 + qlen;
  }
  if (v !== 6 || qEnd - qOff < 40) return BUILD_NOT_APPLICABLE;
  if (ipv6IsSpecial(buf, qOff + 8)) return BUILD_SUPPRESSED;
  if (buf[qOff + 24] === 0xff && kind !== ICMP_ERR_FRAG_NEEDED) return BUILD_SUPPRESSED;
  if (ipv6UpperProto(buf, qOff, qEnd) === IPPROTO_ICMPV6) {
    const u = ipv6UpperOff();
    if (u >= qEnd || buf[u] < ICMPV6_FIRST_INFO_TYPE) return BUILD_SUPPRESSED;
  }
  const qlen = Math.min(qEnd - qOff, ICMP6_ERROR_MAX - 48);
  if (cap < 48 + qlen) return BUILD_NO_ROOM;
  for (let i = 0; i < 16; i++) {
    addr[i] = buf[qOff + 8 + i];
    addr[16 + i] = src ? src[i] : buf[qOff + 24 + i];
  }
  copyBytes(out, o + 48, buf, qOff, qlen);
  out[o] = 0x60; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 0;
  wr16(out, o + 4, 8 + qlen);
  out[o + 6] = IPPROTO_ICMPV6;
  out[o + 7] = ICMP_ERROR_TTL;
  for (let i = 0; i < 16; i++) { out[o + 8 + i] = addr[16 + i]; out[o + 24 + i] = addr[i]; }
  const m = o + 40;
  out[m] = kind === ICMP_ERR_PORT_UNREACH ? 1 : kind === ICMP_ERR_FRAG_NEEDED ? 2 : 3;
  out[m + 1] = kind === ICMP_ERR_PORT_UNREACH ? 4 : 0;
  wr32(out, m + 4, kind === ICMP_ERR_FRAG_NEEDED ? mtu >>> 0 : 0);
  wr16(out, m + 2, 0);
  wr16(out, m + 2, checksum(out, m, 8 + qlen, pseudoSum6(out, o + 8, o + 24, IPPROTO_ICMPV6, 8 + qlen)));
  return 48 + qlen;
}

/**
 * Builds a complete frame with an ICMP error about the parsed packet `p`, sent back to the frame's
 * sender (Ethernet destination = its source MAC, same VLAN tags) from `srcMac`. Building in place
 * (out === buf, outOff === p.start) is allowed. Returns the frame length or a BUILD_* code.
 */
export function buildIcmpError(out: Uint8Array, outOff: number, cap: number, buf: Uint8Array, p: ParsedFrame,
  kind: number, mtu: number, srcMac: Uint8Array, src: Uint8Array | null, ipId: number): number {
  if (p.family === 0 || p.ipOff < 0) return BUILD_NOT_APPLICABLE;
  const l2 = p.l3Off - p.start;
  if (cap < l2) return BUILD_NO_ROOM;
  const n = writeIcmpError(out, outOff + l2, cap - l2, buf, p.ipOff, p.ipEnd, kind, mtu, src, ipId);
  if (n < 0) return n;
  writeReplyL2(out, outOff, buf, p, srcMac);
  return l2 + n;
}
