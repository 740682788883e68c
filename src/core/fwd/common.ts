// Shared pieces of the forwarding rewrites (spec §3): result codes, the TTL / hop-limit decrement
// every method performs, MAC rewriting, and software completion of partial L4 checksums.
import { applyDelta, checksum, crc32c, delta16, fold16, pseudoSum4, pseudoSum6, sum16 } from '../net/checksum.js';
import { writeMac } from '../packet/ethernet.js';
import { type ParsedFrame, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMPV6, IPPROTO_ICMP, rd16, wr16 } from '../packet/frame.js';

/** Rewrite failure codes (rewrites return the output length, >= 0, otherwise). */
export const FWD_TTL_EXCEEDED = -1;
/** The frame is not an IP packet (or its L3 was not parsed). */
export const FWD_NOT_IP = -2;
/** A target address has the wrong length for the packet's family. */
export const FWD_FAMILY = -3;
/** The output buffer is too small. */
export const FWD_NO_ROOM = -4;
/** Nothing this rewrite can do with the packet (e.g. an ICMP message that is not an error, a fragment). */
export const FWD_UNSUPPORTED = -5;

/** Counter names of the failure codes, indexed by -code. */
export const FWD_REASONS: readonly string[] = ['', 'ttl-exceeded', 'not-ip', 'family-mismatch', 'no-room', 'unsupported'];

/** Rewrite flag: the L4 checksum field holds a CHECKSUM_PARTIAL seed (TP_STATUS_CSUMNOTREADY with a vnet header). */
export const FWD_CSUM_PARTIAL = 1;

/**
 * The RFC 1624 delta for decrementing the TTL of the IPv4 header at `ipOff` (word 8: TTL|protocol).
 * Callers fold it into their own header-checksum update.
 */
export function ttlDelta(buf: Uint8Array, ipOff: number): number {
  const w = rd16(buf, ipOff + 8);
  return delta16(w, w - 0x100);
}

/**
 * Decrements the TTL (updating the IPv4 header checksum incrementally) or the IPv6 hop limit.
 * Returns false, changing nothing, when it is <= 1: the packet must be dropped with ICMP time
 * exceeded (kernel `decrement_ttl` in ip_vs_xmit.c, spec §3).
 */
export function decrementTtl(buf: Uint8Array, p: ParsedFrame): boolean {
  const o = p.ipOff;
  if (p.family === 4) {
    const ttl = buf[o + 8];
    if (ttl <= 1) return false;
    const c = applyDelta(rd16(buf, o + 10), ttlDelta(buf, o));
    buf[o + 8] = ttl - 1;
    wr16(buf, o + 10, c);
  } else {
    const hl = buf[o + 7];
    if (hl <= 1) return false;
    buf[o + 7] = hl - 1;
  }
  p.ttl--;
  return true;
}

/** Rewrites the Ethernet destination and source addresses of the frame starting at `start`. */
export function setMacs(buf: Uint8Array, start: number, dstMac: Uint8Array, srcMac: Uint8Array): void {
  writeMac(buf, start, dstMac);
  writeMac(buf, start + 6, srcMac);
}

/**
 * Computes the full L4 checksum of a parsed packet in software and stores it (TCP, UDP, ICMPv6
 * with the pseudo-header; ICMP; SCTP CRC32c) — for frames the ring marks TP_STATUS_CSUMNOTREADY,
 * whose field holds only a pseudo-header seed. Returns false when the packet has no complete L4
 * (a fragment, another protocol).
 */
export function completeL4Checksum(buf: Uint8Array, p: ParsedFrame): boolean {
  const c = p.l4CsumOff;
  if (c < 0 || p.isFragment !== 0) return false;
  const o = p.l4Off;
  const n = p.ipEnd - o;
  const pr = p.proto;
  if (pr === IPPROTO_SCTP) {
    buf[c] = 0; buf[c + 1] = 0; buf[c + 2] = 0; buf[c + 3] = 0;
    const crc = crc32c(buf, o, n);
    buf[c] = crc & 0xff; buf[c + 1] = (crc >>> 8) & 0xff; buf[c + 2] = (crc >>> 16) & 0xff; buf[c + 3] = crc >>> 24;
    return true;
  }
  if (pr !== IPPROTO_TCP && pr !== IPPROTO_UDP && pr !== IPPROTO_ICMPV6 && pr !== IPPROTO_ICMP) return false;
  buf[c] = 0;
  buf[c + 1] = 0;
  const seed = pr === IPPROTO_ICMP ? 0 : p.family === 4
    ? pseudoSum4(buf, p.srcOff, p.dstOff, pr, n) : pseudoSum6(buf, p.srcOff, p.dstOff, pr, n);
  let v = checksum(buf, o, n, seed);
  if (v === 0 && pr === IPPROTO_UDP) v = 0xffff; // RFC 768: 0 means "no checksum"; send all ones
  wr16(buf, c, v);
  return true;
}

/**
 * Completes a partial checksum the NIC way (virtio_net_hdr csum_start / csum_offset, kernel
 * skb_checksum_help): sum [csumStart, end) — the field already holds the pseudo-header seed — and
 * store the complement at csumStart + csumOffset (0 becomes 0xffff, CSUM_MANGLED_0).
 * Returns false when the offsets do not fit in [csumStart, end).
 */
export function completeChecksumAt(buf: Uint8Array, csumStart: number, csumOffset: number, end: number): boolean {
  const f = csumStart + csumOffset;
  if (csumStart < 0 || csumOffset < 0 || f + 2 > end) return false;
  const v = ~fold16(sum16(buf, csumStart, end - csumStart)) & 0xffff;
  wr16(buf, f, v === 0 ? 0xffff : v);
  return true;
}
