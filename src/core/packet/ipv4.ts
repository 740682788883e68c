// IPv4 header view (RFC 791): version, IHL, total length, checksum, options structure, fragments.
import { sum16, fold16 } from '../net/checksum.js';
import {
  type ParsedFrame, PARSE_OK, BAD_IP_VERSION, BAD_IPV4_TRUNC, BAD_IPV4_IHL, BAD_IPV4_TOTLEN, BAD_IPV4_CSUM,
  BAD_IPV4_OPTIONS, BAD_IPV4_FRAG, rd16,
} from './frame.js';

/** IPv4 flag bits in the 16-bit flags/fragment-offset word. */
export const IPV4_DF = 0x4000;
export const IPV4_MF = 0x2000;

/**
 * Parses the IPv4 header at `off` (the frame ends at `end`) into `p` (family, addresses, TTL, TOS,
 * ID, DF, fragment fields, proto, ipEnd; l4Off set for first fragments). Returns a verdict.
 * The header checksum is verified, as the kernel's ip_rcv does before anything else sees the packet.
 */
export function parseIpv4Header(b: Uint8Array, off: number, end: number, p: ParsedFrame): number {
  if (end - off < 20) return BAD_IPV4_TRUNC;
  const vihl = b[off];
  if (vihl >>> 4 !== 4) return BAD_IP_VERSION;
  const hdrLen = (vihl & 0x0f) << 2;
  if (hdrLen < 20) return BAD_IPV4_IHL;
  if (off + hdrLen > end) return BAD_IPV4_TRUNC;
  const totLen = rd16(b, off + 2);
  // A total length below the header length is a lie; above the frame means a truncated capture.
  // (Ethernet padding makes the frame longer than the packet: that is fine, ipEnd excludes it.)
  if (totLen < hdrLen) return BAD_IPV4_TOTLEN;
  if (off + totLen > end) return BAD_IPV4_TRUNC;
  if (fold16(sum16(b, off, hdrLen)) !== 0xffff) return BAD_IPV4_CSUM;
  if (hdrLen > 20 && !ipv4OptionsValid(b, off + 20, off + hdrLen)) return BAD_IPV4_OPTIONS;
  const frag = rd16(b, off + 6);
  const fragOffset = (frag & 0x1fff) << 3;
  if (fragOffset + totLen - hdrLen > 65535) return BAD_IPV4_FRAG;
  p.family = 4;
  p.ipOff = off;
  p.ipHdrLen = hdrLen;
  p.ipEnd = off + totLen;
  p.tos = b[off + 1];
  p.ipId = rd16(b, off + 4);
  p.df = (frag & IPV4_DF) !== 0 ? 1 : 0;
  p.moreFragments = (frag & IPV4_MF) !== 0 ? 1 : 0;
  p.fragOffset = fragOffset;
  p.isFragment = p.moreFragments | (fragOffset !== 0 ? 1 : 0);
  p.ttl = b[off + 8];
  p.proto = b[off + 9];
  p.srcOff = off + 12;
  p.dstOff = off + 16;
  p.l4Off = fragOffset === 0 ? off + hdrLen : -1;
  p.l4Len = fragOffset === 0 ? totLen - hdrLen : 0;
  return PARSE_OK;
}

/** True when the options area [o, end) is a well-formed TLV list (EOL, NOP, or type/len >= 2 inside it). */
export function ipv4OptionsValid(b: Uint8Array, o: number, end: number): boolean {
  let i = o;
  while (i < end) {
    const t = b[i];
    if (t === 0) return true; // end of option list: the rest is padding
    if (t === 1) { i++; continue; }
    if (i + 1 >= end) return false;
    const len = b[i + 1];
    if (len < 2 || i + len > end) return false;
    i += len;
  }
  return true;
}

/**
 * Parses a quoted IPv4 header inside an ICMP error (RFC 792: header + 8 bytes, usually truncated):
 * only version, IHL and presence are required; returns the header length, or 0 when unusable.
 */
export function quotedIpv4HeaderLen(b: Uint8Array, off: number, end: number): number {
  if (end - off < 20 || b[off] >>> 4 !== 4) return 0;
  const hdrLen = (b[off] & 0x0f) << 2;
  if (hdrLen < 20 || off + hdrLen > end) return 0;
  return hdrLen;
}

/** True for multicast, class E and broadcast (224.0.0.0/3) and for 0.0.0.0: never the subject of an ICMP error. */
export function ipv4IsSpecial(b: Uint8Array, o: number): boolean {
  const a = b[o];
  if (a >= 224) return true;
  return a === 0 && b[o + 1] === 0 && b[o + 2] === 0 && b[o + 3] === 0;
}
