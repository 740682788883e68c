// Decapsulation views for the tunnels IPVS sends (spec §3.3): IPIP / IPv6-in-IP (the inner packet
// is the L4 payload), GUE (UDP + 4-byte header + options, draft-ietf-intarea-gue; version 1 is
// direct IP) and GRE (RFC 2784/2890). Each returns the offset of the inner IP packet, or a negative
// TUN_* code; none allocates or reads beyond `end`.
import { sum16, fold16 } from '../net/checksum.js';
import { type ParsedFrame, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_GRE, IPPROTO_UDP, ETH_P_IP, ETH_P_IPV6, rd16, rd32 } from './frame.js';

/** Failure codes of the decapsulation views. */
export const TUN_NOT_TUNNEL = -1;
export const TUN_TRUNCATED = -2;
export const TUN_CONTROL = -3;
export const TUN_UNSUPPORTED = -4;
export const TUN_BAD_CSUM = -5;

/** GUE header flag: private flags word follows (include/net/gue.h GUE_FLAG_PRIV). */
export const GUE_FLAG_PRIV = 0x0001;
/** GUE private flag: remote checksum offload option follows (GUE_PFLAG_REMCSUM). */
export const GUE_PFLAG_REMCSUM = 0x80000000;
/** GRE flag bits (first 16-bit word). */
export const GRE_CSUM = 0x8000;
export const GRE_ROUTING = 0x4000;
export const GRE_KEY = 0x2000;
export const GRE_SEQ = 0x1000;

/** Remote-checksum-offload fields of the last gueInnerOffset call (-1 when the option was absent). */
export const gueRemcsum = { start: -1, offset: -1 };

/**
 * The inner packet of a GUE payload at [off, end) (the UDP payload). Version 0 data messages with
 * proto 4 or 41, and version 1 (direct IPv4/IPv6). Fills `gueRemcsum` when the REMCSUM option is present
 * (offsets relative to the inner packet start, as `ipvs_gue_encap` writes them).
 */
export function gueInnerOffset(b: Uint8Array, off: number, end: number): number {
  gueRemcsum.start = -1;
  gueRemcsum.offset = -1;
  if (off >= end) return TUN_TRUNCATED;
  const first = b[off];
  const ver = first >>> 6;
  if (ver === 1) {
    const v = first >>> 4;
    return v === 4 || v === 6 ? off : TUN_UNSUPPORTED;
  }
  if (ver !== 0) return TUN_UNSUPPORTED;
  if (off + 4 > end) return TUN_TRUNCATED;
  if ((first & 0x20) !== 0) return TUN_CONTROL;
  const hlen = (first & 0x1f) << 2;
  const proto = b[off + 1];
  const flags = rd16(b, off + 2);
  const inner = off + 4 + hlen;
  if (inner > end) return TUN_TRUNCATED;
  if (proto !== IPPROTO_IPIP && proto !== IPPROTO_IPV6) return TUN_UNSUPPORTED;
  if (flags & ~GUE_FLAG_PRIV) return TUN_UNSUPPORTED;
  if (flags & GUE_FLAG_PRIV) {
    if (hlen < 4) return TUN_TRUNCATED;
    const pflags = rd32(b, off + 4);
    if ((pflags & ~GUE_PFLAG_REMCSUM) !== 0) return TUN_UNSUPPORTED;
    if (pflags & GUE_PFLAG_REMCSUM) {
      if (hlen < 8) return TUN_TRUNCATED;
      gueRemcsum.start = rd16(b, off + 8);
      gueRemcsum.offset = rd16(b, off + 10);
    }
  }
  return inner;
}

/** The inner packet of a GRE packet at [off, end): version 0, protocol IPv4/IPv6; verifies the checksum when present. */
export function greInnerOffset(b: Uint8Array, off: number, end: number): number {
  if (off + 4 > end) return TUN_TRUNCATED;
  const flags = rd16(b, off);
  const proto = rd16(b, off + 2);
  if ((flags & 0x0007) !== 0 || (flags & GRE_ROUTING) !== 0) return TUN_UNSUPPORTED;
  if (proto !== ETH_P_IP && proto !== ETH_P_IPV6) return TUN_UNSUPPORTED;
  let hl = 4;
  if (flags & GRE_CSUM) hl += 4;
  if (flags & GRE_KEY) hl += 4;
  if (flags & GRE_SEQ) hl += 4;
  if (off + hl > end) return TUN_TRUNCATED;
  if ((flags & GRE_CSUM) && fold16(sum16(b, off, end - off)) !== 0xffff) return TUN_BAD_CSUM;
  return off + hl;
}

/**
 * The inner IP packet of a parsed tunnel packet: IPIP / IPv6-in-IP (protocols 4 and 41), GRE, or
 * GUE when the UDP destination port equals `guePort` (0 = no GUE). Returns the inner offset (the
 * inner packet spans [offset, p.ipEnd)) or a negative TUN_* code.
 */
export function tunnelInnerOffset(b: Uint8Array, p: ParsedFrame, guePort: number): number {
  if (p.l4Off < 0 || p.isFragment !== 0) return TUN_NOT_TUNNEL;
  const pr = p.proto;
  if (pr === IPPROTO_IPIP || pr === IPPROTO_IPV6) {
    if (p.l4Off >= p.ipEnd) return TUN_TRUNCATED;
    const v = b[p.l4Off] >>> 4;
    return (pr === IPPROTO_IPIP ? v === 4 : v === 6) ? p.l4Off : TUN_UNSUPPORTED;
  }
  if (pr === IPPROTO_GRE) return greInnerOffset(b, p.l4Off, p.ipEnd);
  if (pr === IPPROTO_UDP && guePort !== 0 && p.dstPort === guePort) return gueInnerOffset(b, p.payloadOff, p.ipEnd);
  return TUN_NOT_TUNNEL;
}
