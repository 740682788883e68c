// Upper-layer views: TCP, UDP, SCTP (common header + first chunk type), ICMP and ICMPv6 including
// the IP + L4 header quoted by error messages (spec §2.6) and the NDP NS/NA target.
import { quotedIpv4HeaderLen } from './ipv4.js';
import { parseQuotedIpv6 } from './ipv6.js';
import {
  type ParsedFrame, PARSE_OK, BAD_TCP_TRUNC, BAD_TCP_DOFF, BAD_UDP_TRUNC, BAD_UDP_LEN, BAD_SCTP_TRUNC,
  BAD_ICMP_TRUNC, BAD_NDP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMPV6, rd16, rd32,
} from './frame.js';

/** ICMPv4 types. */
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
/** ICMPv4 destination-unreachable codes tsvs sends. */
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
/** ICMPv6 types (RFC 4443, RFC 4861). */
export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PKT_TOOBIG = 2;
export const ICMPV6_TIME_EXCEED = 3;
export const ICMPV6_PARAMPROB = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const NDISC_NEIGHBOUR_SOLICITATION = 135;
export const NDISC_NEIGHBOUR_ADVERTISEMENT = 136;
/** ICMPv6 port-unreachable code. */
export const ICMPV6_PORT_UNREACH = 4;

/** The ICMPv4 types that carry a quoted datagram (RFC 1122 §3.2.2 error classes). */
export const ICMP4_ERROR_TYPES: readonly number[] = [ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_REDIRECT, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB];

/** True for the types of ICMP4_ERROR_TYPES (compares, not a lookup: it runs per frame). */
export function icmp4IsError(type: number): boolean {
  return type === ICMP_DEST_UNREACH || type === ICMP_SOURCE_QUENCH || type === ICMP_REDIRECT || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETERPROB;
}

/** ICMPv6 error messages are the types below this one (RFC 4443 §2.1). */
export const ICMPV6_FIRST_INFO_TYPE = 128;

/** Parses the L4 header at p.l4Off (IP fields already filled). Returns a verdict. */
export function parseL4(b: Uint8Array, p: ParsedFrame): number {
  const o = p.l4Off;
  if (o < 0) return PARSE_OK; // non-first fragment or walk ended without an upper layer
  const avail = p.ipEnd - o;
  switch (p.proto) {
    case IPPROTO_TCP: {
      if (avail < 20) return BAD_TCP_TRUNC;
      const hl = (b[o + 12] >>> 4) << 2;
      if (hl < 20) return BAD_TCP_DOFF;
      if (hl > avail) return BAD_TCP_TRUNC;
      p.srcPort = rd16(b, o);
      p.dstPort = rd16(b, o + 2);
      p.tcpSeq = rd32(b, o + 4);
      p.tcpAck = rd32(b, o + 8);
      p.tcpFlags = b[o + 13] | ((b[o + 12] & 1) << 8);
      p.l4HdrLen = hl;
      p.l4CsumOff = o + 16;
      break;
    }
    case IPPROTO_UDP: {
      if (avail < 8) return BAD_UDP_TRUNC;
      const ulen = rd16(b, o + 4);
      // In a first fragment the UDP length covers the whole datagram, so it can exceed this packet.
      if (ulen < 8 || (p.isFragment === 0 && ulen > avail)) return BAD_UDP_LEN;
      p.srcPort = rd16(b, o);
      p.dstPort = rd16(b, o + 2);
      p.l4HdrLen = 8;
      p.l4CsumOff = o + 6;
      break;
    }
    case IPPROTO_SCTP: {
      // Common header (12) + at least one chunk header (4): conn scheduling needs the first chunk type.
      if (avail < 16) return BAD_SCTP_TRUNC;
      p.srcPort = rd16(b, o);
      p.dstPort = rd16(b, o + 2);
      p.sctpVtag = rd32(b, o + 4);
      p.sctpChunkType = b[o + 12];
      p.l4HdrLen = 12;
      p.l4CsumOff = o + 8;
      break;
    }
    case IPPROTO_ICMP:
      if (p.family !== 4) return PARSE_OK;
      return parseIcmp4(b, p, o, avail);
    case IPPROTO_ICMPV6:
      if (p.family !== 6) return PARSE_OK;
      return parseIcmp6(b, p, o, avail);
    default:
      return PARSE_OK; // another protocol (GRE, ESP, IPIP, ...): IP-level fields only
  }
  p.l4Len = avail;
  p.payloadOff = o + p.l4HdrLen;
  return PARSE_OK;
}

function parseIcmp4(b: Uint8Array, p: ParsedFrame, o: number, avail: number): number {
  if (avail < 8) return BAD_ICMP_TRUNC;
  setIcmpCommon(b, p, o, avail);
  const t = p.icmpType;
  if (!icmp4IsError(t)) return PARSE_OK;
  p.icmpIsError = 1;
  if (p.isFragment !== 0) return PARSE_OK; // a fragmented error is not looked into (the kernel defrags first)
  const q = o + 8;
  const hl = quotedIpv4HeaderLen(b, q, p.ipEnd);
  if (hl === 0) return PARSE_OK; // quoted header unusable: innerFamily stays 0 and the error is passed on
  p.innerFamily = 4;
  p.innerIpOff = q;
  p.innerIpHdrLen = hl;
  p.innerEnd = p.ipEnd;
  p.innerSrcOff = q + 12;
  p.innerDstOff = q + 16;
  p.innerProto = b[q + 9];
  // Only a quoted first fragment shows the L4 header.
  p.innerL4Off = (rd16(b, q + 6) & 0x1fff) === 0 ? q + hl : -1;
  setInnerPorts(b, p);
  return PARSE_OK;
}

function parseIcmp6(b: Uint8Array, p: ParsedFrame, o: number, avail: number): number {
  if (avail < 8) return BAD_ICMP_TRUNC;
  setIcmpCommon(b, p, o, avail);
  const t = p.icmpType;
  if (t < ICMPV6_FIRST_INFO_TYPE) {
    p.icmpIsError = 1;
    if (p.isFragment === 0 && parseQuotedIpv6(b, o + 8, p.ipEnd, p)) setInnerPorts(b, p);
    return PARSE_OK;
  }
  if (t === NDISC_NEIGHBOUR_SOLICITATION || t === NDISC_NEIGHBOUR_ADVERTISEMENT) {
    // RFC 4861 §7.1.1: 24 bytes of message, then options of (type, len in 8-octet units) with len > 0.
    if (avail < 24 || p.icmpCode !== 0) return BAD_NDP;
    p.ndTargetOff = o + 8;
    let i = o + 24;
    while (i < p.ipEnd) {
      if (i + 2 > p.ipEnd) return BAD_NDP;
      const olen = b[i + 1] << 3;
      if (olen === 0 || i + olen > p.ipEnd) return BAD_NDP;
      // Source LLA (1) in NS, target LLA (2) in NA; Ethernet addresses take an 8-byte option.
      const want = t === NDISC_NEIGHBOUR_SOLICITATION ? 1 : 2;
      if (b[i] === want && olen >= 8) p.ndLlaOff = i + 2;
      i += olen;
    }
  }
  return PARSE_OK;
}

function setIcmpCommon(b: Uint8Array, p: ParsedFrame, o: number, avail: number): void {
  p.icmpType = b[o];
  p.icmpCode = b[o + 1];
  p.l4CsumOff = o + 2;
  p.l4HdrLen = 8;
  p.l4Len = avail;
  p.payloadOff = o + 8;
}

function setInnerPorts(b: Uint8Array, p: ParsedFrame): void {
  const l4 = p.innerL4Off;
  const pr = p.innerProto;
  if (l4 < 0 || l4 + 4 > p.innerEnd) return;
  if (pr === IPPROTO_TCP || pr === IPPROTO_UDP || pr === IPPROTO_SCTP) {
    p.innerSrcPort = rd16(b, l4);
    p.innerDstPort = rd16(b, l4 + 2);
  }
}
