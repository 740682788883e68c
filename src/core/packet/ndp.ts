// IPv6 neighbour advertisements for VIPs (RFC 4861 §4.4, §7.2.4): the answer to a neighbour
// solicitation and the unsolicited announcement sent on start/takeover (IPv6's gratuitous ARP).
import { checksum, pseudoSum6 } from '../net/checksum.js';
import { type ParsedFrame, ETH_P_IPV6, IPPROTO_ICMPV6, BUILD_NO_ROOM, BUILD_NOT_APPLICABLE, wr16 } from './frame.js';
import { writeL2Header, writeMac, writeReplyL2 } from './ethernet.js';
import { NDISC_NEIGHBOUR_ADVERTISEMENT, NDISC_NEIGHBOUR_SOLICITATION } from './l4.js';

/** NA flag bits (first byte after the checksum). */
export const NA_ROUTER = 0x80;
export const NA_SOLICITED = 0x40;
export const NA_OVERRIDE = 0x20;

/** ff02::1 and its multicast MAC 33:33:00:00:00:01. */
export const IPV6_ALL_NODES = new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
export const MAC_ALL_NODES = new Uint8Array([0x33, 0x33, 0, 0, 0, 1]);

/** Bytes of an untagged NA frame: Ethernet 14 + IPv6 40 + NA 24 + target link-layer option 8. */
export const NA_FRAME_LEN = 86;

// Scratch copies of the addresses of a solicitation being answered in place.
const scratch = new Uint8Array(32);

/** Writes IPv6 + NA + target-LLA option at `o` (after the L2 header); returns the end offset. */
function writeNa(out: Uint8Array, o: number, mac: Uint8Array, src: Uint8Array, srcOff: number, dst: Uint8Array,
  dstOff: number, flags: number): number {
  out[o] = 0x60; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 0; // version 6, traffic class 0, flow label 0
  wr16(out, o + 4, 32);
  out[o + 6] = IPPROTO_ICMPV6;
  out[o + 7] = 255; // RFC 4861 §7.1.2: receivers drop NDP with another hop limit
  for (let i = 0; i < 16; i++) out[o + 8 + i] = src[srcOff + i];
  for (let i = 0; i < 16; i++) out[o + 24 + i] = dst[dstOff + i];
  const m = o + 40;
  out[m] = NDISC_NEIGHBOUR_ADVERTISEMENT; out[m + 1] = 0; out[m + 2] = 0; out[m + 3] = 0;
  out[m + 4] = flags; out[m + 5] = 0; out[m + 6] = 0; out[m + 7] = 0;
  for (let i = 0; i < 16; i++) out[m + 8 + i] = src[srcOff + i]; // target = the address we answer for
  out[m + 24] = 2; // target link-layer address option, length 1 (8 bytes)
  out[m + 25] = 1;
  writeMac(out, m + 26, mac);
  wr16(out, m + 2, checksum(out, m, 32, pseudoSum6(out, o + 8, o + 24, IPPROTO_ICMPV6, 32)));
  return m + 32;
}

/**
 * Answers a parsed neighbour solicitation for an address tsvs owns (the caller checked the target
 * at buf[p.ndTargetOff..+16] is a VIP): solicited + override, to the solicitor; a DAD probe (source
 * ::) is answered to all-nodes without the solicited flag (RFC 4861 §7.2.4). Hop limit must be 255.
 * May build in place over the solicitation. Returns the length or a BUILD_* code.
 */
export function buildNaReply(out: Uint8Array, outOff: number, cap: number, buf: Uint8Array, p: ParsedFrame, mac: Uint8Array): number {
  if (p.icmpType !== NDISC_NEIGHBOUR_SOLICITATION || p.ndTargetOff < 0 || p.ttl !== 255) return BUILD_NOT_APPLICABLE;
  const l2 = p.l3Off - p.start;
  if (cap < l2 + 72) return BUILD_NO_ROOM;
  let unspecified = true;
  for (let i = 0; i < 16; i++) {
    scratch[i] = buf[p.ndTargetOff + i];
    scratch[16 + i] = buf[p.srcOff + i];
    if (scratch[16 + i] !== 0) unspecified = false;
  }
  const o = writeReplyL2(out, outOff, buf, p, mac);
  if (unspecified) {
    writeMac(out, outOff, MAC_ALL_NODES);
    return writeNa(out, o, mac, scratch, 0, IPV6_ALL_NODES, 0, NA_OVERRIDE) - outOff;
  }
  return writeNa(out, o, mac, scratch, 0, scratch, 16, NA_SOLICITED | NA_OVERRIDE) - outOff;
}

/**
 * An unsolicited NA announcing `target` (16 bytes) at `mac` to all nodes, override set (RFC 4861
 * §7.2.6). `vlanTci` >= 0 adds an 802.1Q tag. Returns the length or BUILD_NO_ROOM.
 */
export function buildUnsolicitedNa(out: Uint8Array, outOff: number, cap: number, mac: Uint8Array, target: Uint8Array, vlanTci = -1): number {
  const l2 = vlanTci >= 0 ? 18 : 14;
  if (cap < l2 + 72) return BUILD_NO_ROOM;
  const o = writeL2Header(out, outOff, MAC_ALL_NODES, mac, ETH_P_IPV6, vlanTci);
  return writeNa(out, o, mac, target, 0, IPV6_ALL_NODES, 0, NA_OVERRIDE) - outOff;
}
