// The address/port translation core shared by masquerading (spec §3.1) and full NAT: rewrite any
// of source/destination address and port in place, decrement the TTL, and fix the IPv4 header
// checksum and the L4 checksum the way the kernel's tcp/udp/sctp {d,s}nat handlers do:
//  - TCP/UDP (and ICMPv6, whose checksum covers the pseudo-header): RFC 1624 incremental update
//    for the address and port deltas; with FWD_CSUM_PARTIAL only the addresses move the seed.
//  - UDP with checksum 0: the kernel computes a full checksum (udp_dnat_handler's "full checksum
//    calculation" branch), except in a fragment where the datagram is not all here (left 0).
//    A computed or updated 0 is sent as 0xffff (CSUM_MANGLED_0).
//  - SCTP: CRC32c recomputed over the packet when a port changed (sctp_nat_csum).
// ICMP errors use natIcmpRewrite (ip_vs_nat_icmp): outer and quoted addresses/ports, quoted IPv4
// header checksum recomputed, ICMP checksum recomputed in full.
import { applyDelta, applyDeltaPartial, checksum, delta16, deltaBytes, ipv4HeaderChecksum, pseudoSum4, pseudoSum6, sctpChecksum } from '../net/checksum.js';
import { type ParsedFrame, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMPV6, rd16, wr16 } from '../packet/frame.js';
import { FWD_CSUM_PARTIAL, FWD_FAMILY, FWD_NOT_IP, FWD_TTL_EXCEEDED, FWD_UNSUPPORTED, setMacs, ttlDelta } from './common.js';

function writeAddr(buf: Uint8Array, off: number, a: Uint8Array): void {
  for (let i = 0; i < a.length; i++) buf[off + i] = a[i];
}

/** Decrements TTL/hop limit and rewrites the IPv4 header checksum with `addrDelta` folded in. */
function finishIpHeader(buf: Uint8Array, p: ParsedFrame, addrDelta: number): void {
  const o = p.ipOff;
  if (p.family === 4) {
    const c = applyDelta(rd16(buf, o + 10), addrDelta + ttlDelta(buf, o));
    buf[o + 8]--;
    wr16(buf, o + 10, c);
  } else {
    buf[o + 7]--;
  }
  p.ttl--;
}

/**
 * Rewrites source and/or destination (address: 4 or 16 bytes, null = keep; port: -1 = keep) of
 * the parsed packet in place, decrements TTL, fixes checksums and sets the MACs. Non-first
 * fragments get the address rewrite only. Returns the frame length or a FWD_* code (nothing is
 * changed on failure).
 */
export function natRewrite(buf: Uint8Array, p: ParsedFrame, newSrc: Uint8Array | null, newSrcPort: number,
  newDst: Uint8Array | null, newDstPort: number, dstMac: Uint8Array, srcMac: Uint8Array, flags = 0): number {
  if (p.family === 0) return FWD_NOT_IP;
  const alen = p.family === 4 ? 4 : 16;
  if ((newSrc !== null && newSrc.length !== alen) || (newDst !== null && newDst.length !== alen)) return FWD_FAMILY;
  if (p.ttl <= 1) return FWD_TTL_EXCEEDED;
  const pr = p.proto;
  if (p.icmpIsError !== 0) return FWD_UNSUPPORTED; // ICMP errors need natIcmpRewrite
  let dAddr = 0;
  if (newSrc !== null) dAddr += deltaBytes(buf, p.srcOff, newSrc, 0, alen);
  if (newDst !== null) dAddr += deltaBytes(buf, p.dstOff, newDst, 0, alen);
  const hasPorts = p.srcPort >= 0;
  const sp = hasPorts && newSrcPort >= 0 ? newSrcPort & 0xffff : -1;
  const dp = hasPorts && newDstPort >= 0 ? newDstPort & 0xffff : -1;
  let dPort = 0;
  if (sp >= 0) dPort += delta16(p.srcPort, sp);
  if (dp >= 0) dPort += delta16(p.dstPort, dp);
  const c = p.l4CsumOff;
  const partial = (flags & FWD_CSUM_PARTIAL) !== 0;
  let fullUdp = false;
  if (c >= 0 && (pr === IPPROTO_TCP || pr === IPPROTO_UDP || (pr === IPPROTO_ICMPV6 && p.family === 6))) {
    const old = rd16(buf, c);
    if (partial) {
      // The seed covers the pseudo-header only; the ports are summed by the NIC with the data.
      wr16(buf, c, applyDeltaPartial(old, dAddr));
    } else if (pr === IPPROTO_UDP && old === 0) {
      fullUdp = p.isFragment === 0;
    } else {
      let v = applyDelta(old, dAddr + dPort);
      if (v === 0 && pr === IPPROTO_UDP) v = 0xffff;
      wr16(buf, c, v);
    }
  }
  if (newSrc !== null) writeAddr(buf, p.srcOff, newSrc);
  if (newDst !== null) writeAddr(buf, p.dstOff, newDst);
  if (sp >= 0) { wr16(buf, p.l4Off, sp); p.srcPort = sp; }
  if (dp >= 0) { wr16(buf, p.l4Off + 2, dp); p.dstPort = dp; }
  finishIpHeader(buf, p, dAddr);
  if (fullUdp) {
    const n = p.ipEnd - p.l4Off;
    const seed = p.family === 4 ? pseudoSum4(buf, p.srcOff, p.dstOff, IPPROTO_UDP, n) : pseudoSum6(buf, p.srcOff, p.dstOff, IPPROTO_UDP, n);
    const v = checksum(buf, p.l4Off, n, seed);
    wr16(buf, c, v === 0 ? 0xffff : v);
  }
  if (pr === IPPROTO_SCTP && c >= 0 && (sp >= 0 || dp >= 0) && p.isFragment === 0) sctpChecksum(buf, p.l4Off, p.ipEnd - p.l4Off);
  setMacs(buf, p.start, dstMac, srcMac);
  return p.end - p.start;
}

/**
 * Translates an ICMP / ICMPv6 error for a NAT connection (kernel ip_vs_nat_icmp[_v6]): outer
 * source/destination, the quoted packet's source/destination and ports (null / -1 = keep). The
 * quoted L4 checksum is left alone (as the kernel does; the quote is usually truncated anyway).
 * Decrements TTL and sets MACs. Returns the frame length or a FWD_* code.
 */
export function natIcmpRewrite(buf: Uint8Array, p: ParsedFrame, outerSrc: Uint8Array | null, outerDst: Uint8Array | null,
  innerSrc: Uint8Array | null, innerSrcPort: number, innerDst: Uint8Array | null, innerDstPort: number,
  dstMac: Uint8Array, srcMac: Uint8Array): number {
  if (p.family === 0) return FWD_NOT_IP;
  if (p.icmpIsError === 0 || p.innerFamily !== p.family || p.l4CsumOff < 0) return FWD_UNSUPPORTED;
  const alen = p.family === 4 ? 4 : 16;
  if ((outerSrc !== null && outerSrc.length !== alen) || (outerDst !== null && outerDst.length !== alen)
    || (innerSrc !== null && innerSrc.length !== alen) || (innerDst !== null && innerDst.length !== alen)) return FWD_FAMILY;
  if (p.ttl <= 1) return FWD_TTL_EXCEEDED;
  let dAddr = 0;
  if (outerSrc !== null) { dAddr += deltaBytes(buf, p.srcOff, outerSrc, 0, alen); writeAddr(buf, p.srcOff, outerSrc); }
  if (outerDst !== null) { dAddr += deltaBytes(buf, p.dstOff, outerDst, 0, alen); writeAddr(buf, p.dstOff, outerDst); }
  finishIpHeader(buf, p, dAddr);
  if (innerSrc !== null) writeAddr(buf, p.innerSrcOff, innerSrc);
  if (innerDst !== null) writeAddr(buf, p.innerDstOff, innerDst);
  if (p.family === 4) ipv4HeaderChecksum(buf, p.innerIpOff, p.innerIpHdrLen);
  const ip = p.innerProto;
  const l4 = p.innerL4Off;
  if (l4 >= 0 && l4 + 4 <= p.innerEnd && (ip === IPPROTO_TCP || ip === IPPROTO_UDP || ip === IPPROTO_SCTP)) {
    if (innerSrcPort >= 0) { wr16(buf, l4, innerSrcPort); p.innerSrcPort = innerSrcPort & 0xffff; }
    if (innerDstPort >= 0) { wr16(buf, l4 + 2, innerDstPort); p.innerDstPort = innerDstPort & 0xffff; }
  }
  const o = p.l4Off;
  const n = p.ipEnd - o;
  wr16(buf, p.l4CsumOff, 0);
  const seed = p.family === 4 ? 0 : pseudoSum6(buf, p.srcOff, p.dstOff, IPPROTO_ICMPV6, n);
  wr16(buf, p.l4CsumOff, checksum(buf, o, n, seed));
  setMacs(buf, p.start, dstMac, srcMac);
  return p.end - p.start;
}
