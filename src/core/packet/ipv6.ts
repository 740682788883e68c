// IPv6 header view (RFC 8200) with the extension-header walk: hop-by-hop (first only), routing,
// destination options, fragment, AH, and the mobility/HIP/shim6 headers that share the generic
// (next, len) layout. ESP and "no next header" end the walk as upper-layer protocols.
import {
  type ParsedFrame, PARSE_OK, BAD_IP_VERSION, BAD_IPV6_TRUNC, BAD_IPV6_PLEN, BAD_IPV6_EXTHDR,
  IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS, IPPROTO_AH, rd16, rd32,
} from './frame.js';

/** At most this many extension headers are walked (more is treated as malformed / unusable). */
export const IPV6_MAX_EXT_HEADERS = 8;

// Result of the last walk (module scratch: the data path is single-threaded per worker).
const walk = { proto: 0, off: 0, fragHdrOff: -1, fragOffset: 0, more: 0, id: 0 };

/** True for the extension headers with the generic (next header, length in 8-octet units - 1) layout. */
function isGenericExt(nh: number): boolean {
  return nh === IPPROTO_ROUTING || nh === IPPROTO_DSTOPTS || nh === 135 || nh === 139 || nh === 140;
}

/**
 * Walks extension headers starting with next-header `nh` at `o`, bounded by `end`. Fills `walk`.
 * Returns false when a header is truncated, hop-by-hop is not first, or there are too many.
 */
function walkExt(b: Uint8Array, nh: number, o: number, end: number): boolean {
  walk.fragHdrOff = -1; walk.fragOffset = 0; walk.more = 0; walk.id = 0;
  let cur = nh;
  let at = o;
  for (let n = 0; ; n++) {
    if (cur === IPPROTO_HOPOPTS) {
      if (n !== 0) return false; // RFC 8200 §4.3: hop-by-hop only right after the IPv6 header
    } else if (!isGenericExt(cur) && cur !== IPPROTO_FRAGMENT && cur !== IPPROTO_AH) {
      walk.proto = cur;
      walk.off = at;
      return true;
    }
    if (n >= IPV6_MAX_EXT_HEADERS || at + 8 > end) return false;
    const next = b[at];
    let len: number;
    if (cur === IPPROTO_FRAGMENT) {
      len = 8;
      const fo = rd16(b, at + 2);
      walk.fragHdrOff = at;
      walk.fragOffset = fo & 0xfff8;
      walk.more = fo & 1;
      walk.id = rd32(b, at + 4);
      if (walk.fragOffset !== 0) { // a non-first fragment: what follows is not a header
        walk.proto = next;
        walk.off = -1;
        return true;
      }
    } else if (cur === IPPROTO_AH) {
      len = (b[at + 1] + 2) << 2;
    } else {
      len = (b[at + 1] + 1) << 3;
    }
    if (at + len > end) return false;
    at += len;
    cur = next;
  }
}

/**
 * Parses the IPv6 header at `off` and walks its extension headers into `p` (family, addresses,
 * hop limit, traffic class, fragment fields, proto, l4Off, ipEnd). Returns a verdict.
 */
export function parseIpv6Header(b: Uint8Array, off: number, end: number, p: ParsedFrame): number {
  if (end - off < 40) return BAD_IPV6_TRUNC;
  if (b[off] >>> 4 !== 6) return BAD_IP_VERSION;
  const plen = rd16(b, off + 4);
  // Payload length 0 means a jumbogram (RFC 2675), which no Ethernet frame tsvs sees can carry.
  if (plen === 0 && b[off + 6] !== 59) return BAD_IPV6_PLEN;
  if (off + 40 + plen > end) return BAD_IPV6_TRUNC;
  const ipEnd = off + 40 + plen;
  if (!walkExt(b, b[off + 6], off + 40, ipEnd)) return BAD_IPV6_EXTHDR;
  p.family = 6;
  p.ipOff = off;
  p.ipEnd = ipEnd;
  p.tos = ((b[off] & 0x0f) << 4) | (b[off + 1] >>> 4);
  p.ttl = b[off + 7];
  p.df = 1;
  p.srcOff = off + 8;
  p.dstOff = off + 24;
  p.proto = walk.proto;
  p.fragHdrOff = walk.fragHdrOff;
  p.fragOffset = walk.fragOffset;
  p.moreFragments = walk.more;
  p.ipId = walk.id;
  // RFC 8200 §4.5 / RFC 6946: an "atomic" fragment (offset 0, M 0) is a whole packet.
  p.isFragment = walk.fragOffset !== 0 || walk.more !== 0 ? 1 : 0;
  p.l4Off = walk.off;
  p.ipHdrLen = walk.off >= 0 ? walk.off - off : 0;
  p.l4Len = walk.off >= 0 ? ipEnd - walk.off : 0;
  return PARSE_OK;
}

/**
 * Walks a quoted IPv6 header (inside an ICMPv6 error, [off, end) available). On success sets the
 * inner fields of `p` and returns true; the L4 offset is -1 for a quoted non-first fragment.
 */
export function parseQuotedIpv6(b: Uint8Array, off: number, end: number, p: ParsedFrame): boolean {
  if (end - off < 40 || b[off] >>> 4 !== 6) return false;
  if (!walkExt(b, b[off + 6], off + 40, end)) return false;
  p.innerFamily = 6;
  p.innerIpOff = off;
  p.innerEnd = end;
  p.innerSrcOff = off + 8;
  p.innerDstOff = off + 24;
  p.innerProto = walk.proto;
  p.innerIpHdrLen = walk.off >= 0 ? walk.off - off : 0;
  p.innerL4Off = walk.off;
  return true;
}

/** The next-header value and offset of the upper layer of an IPv6 packet, or -1 (for quoting checks). */
export function ipv6UpperProto(b: Uint8Array, off: number, end: number): number {
  if (end - off < 40 || !walkExt(b, b[off + 6], off + 40, end)) return -1;
  return walk.off >= 0 ? walk.proto : -1;
}

/** The offset of the upper-layer header found by the last ipv6UpperProto call (-1 for non-first fragments). */
export function ipv6UpperOff(): number {
  return walk.off;
}

/** True for the unspecified address (::) and multicast (ff00::/8). */
export function ipv6IsSpecial(b: Uint8Array, o: number): boolean {
  if (b[o] === 0xff) return true;
  for (let i = 0; i < 16; i++) if (b[o + i] !== 0) return false;
  return true;
}
