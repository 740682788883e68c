// The parse result every data plane shares: one mutable ParsedFrame per worker, refilled by
// parseFrame for each frame (no allocation), plus the verdict codes and protocol numbers.
// All offsets are absolute indices into the buffer that was parsed (so a frame inside a mapped
// ring can be parsed in place without creating a subarray per packet); -1 means "absent".

/** EtherTypes the packet layer knows. */
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_IPV6 = 0x86dd;

/** IP protocol numbers the packet layer knows. */
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_SCTP = 132;

/** TCP flag bits as in ParsedFrame.tcpFlags (byte 13, plus NS as 0x100). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;

/** Verdicts of parseFrame. Values >= PARSE_MALFORMED_BASE are malformed frames; see PARSE_REASONS. */
export const PARSE_OK = 0;
/** Not a protocol tsvs handles (unknown EtherType, non-Ethernet/IPv4 ARP): hand to the kernel. */
export const PARSE_NOT_OURS = 1;
export const PARSE_MALFORMED_BASE = 2;
export const BAD_ETH_TRUNC = 2;
export const BAD_VLAN_TRUNC = 3;
export const BAD_ARP_TRUNC = 4;
export const BAD_IP_VERSION = 5;
export const BAD_IPV4_TRUNC = 6;
export const BAD_IPV4_IHL = 7;
export const BAD_IPV4_TOTLEN = 8;
export const BAD_IPV4_CSUM = 9;
export const BAD_IPV4_OPTIONS = 10;
export const BAD_IPV4_FRAG = 11;
export const BAD_IPV6_TRUNC = 12;
export const BAD_IPV6_PLEN = 13;
export const BAD_IPV6_EXTHDR = 14;
export const BAD_TCP_TRUNC = 15;
export const BAD_TCP_DOFF = 16;
export const BAD_UDP_TRUNC = 17;
export const BAD_UDP_LEN = 18;
export const BAD_SCTP_TRUNC = 19;
export const BAD_ICMP_TRUNC = 20;
export const BAD_NDP = 21;

/** Counter names for every verdict, indexed by code (drop counters use these). */
export const PARSE_REASONS: readonly string[] = [
  'ok', 'not-ours', 'eth-truncated', 'vlan-truncated', 'arp-truncated', 'ip-version', 'ipv4-truncated',
  'ipv4-bad-ihl', 'ipv4-bad-total-length', 'ipv4-bad-checksum', 'ipv4-bad-options', 'ipv4-bad-fragment',
  'ipv6-truncated', 'ipv6-bad-payload-length', 'ipv6-bad-extension-header', 'tcp-truncated',
  'tcp-bad-data-offset', 'udp-truncated', 'udp-bad-length', 'sctp-truncated', 'icmp-truncated', 'ndp-malformed',
];

/** Failure codes of the frame builders (they return a length >= 0 otherwise). */
export const BUILD_NO_ROOM = -1;
/** The parsed frame is not something the builder answers (e.g. not an ARP request). */
export const BUILD_NOT_APPLICABLE = -2;
/** RFC 1122 / RFC 4443 forbid an ICMP error about this packet (an error, a non-first fragment, multicast...). */
export const BUILD_SUPPRESSED = -3;

/** The number of distinct verdict codes (size of a counter array indexed by verdict). */
export const PARSE_VERDICTS = PARSE_REASONS.length;

/** Everything parseFrame learns about one frame. Reuse one instance; parseFrame resets it. */
export class ParsedFrame {
  /** Frame bounds in the buffer: [start, end). */
  start = 0;
  end = 0;
  /** Number of 802.1Q/802.1ad tags (0..2) and their TCI values (-1 when absent). */
  vlanCount = 0;
  vlanTci0 = -1;
  vlanTci1 = -1;
  /** EtherType after the VLAN tags, and where the L3 header starts. */
  etherType = 0;
  l3Off = -1;

  /** 4 or 6 for IP packets, 0 otherwise. */
  family = 0;
  /** IP header start, header length incl. IPv4 options / IPv6 extension headers, end of the IP packet (padding excluded). */
  ipOff = -1;
  ipHdrLen = 0;
  ipEnd = 0;
  /** Offsets of the source and destination addresses (4 or 16 bytes). */
  srcOff = -1;
  dstOff = -1;
  /** TTL / hop limit, TOS / traffic class. */
  ttl = 0;
  tos = 0;
  /** IPv4 identification, or the IPv6 fragment header's identification (0 without one). */
  ipId = 0;
  /** IPv4 DF bit (always 1 for IPv6, whose routers never fragment). */
  df = 0;
  /** 1 for a fragment (IPv4 MF or offset; IPv6 fragment header with M or offset), 0 otherwise. */
  isFragment = 0;
  /** Fragment offset in bytes (a non-first fragment has no L4 header) and the MF/M bit. */
  fragOffset = 0;
  moreFragments = 0;
  /** Offset of the IPv6 fragment header, -1 without one. */
  fragHdrOff = -1;
  /** The upper-layer protocol (after IPv6 extension headers). */
  proto = -1;

  /** L4 header start (-1 when absent: non-first fragment, unknown protocol), bytes up to ipEnd. */
  l4Off = -1;
  l4Len = 0;
  /** L4 header length and payload start (TCP data offset; 8 for UDP/ICMP; 12 for SCTP). */
  l4HdrLen = 0;
  payloadOff = -1;
  /** Offset of the L4 checksum field (TCP, UDP, ICMP, ICMPv6, SCTP CRC), -1 when absent. */
  l4CsumOff = -1;
  /** Ports (TCP, UDP, SCTP), -1 when absent. */
  srcPort = -1;
  dstPort = -1;
  /** TCP flags, sequence and acknowledgement numbers. */
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  /** SCTP verification tag and the type of the first chunk (-1 when absent). */
  sctpVtag = 0;
  sctpChunkType = -1;

  /** ICMP / ICMPv6 type and code (-1 when not ICMP); 1 when the type is an error message. */
  icmpType = -1;
  icmpCode = -1;
  icmpIsError = 0;
  /** The IP packet quoted by an ICMP error: family (0 when unusable), header offsets, end. */
  innerFamily = 0;
  innerIpOff = -1;
  innerIpHdrLen = 0;
  innerEnd = 0;
  innerSrcOff = -1;
  innerDstOff = -1;
  innerProto = -1;
  /** Quoted L4 header (-1 when not quoted, e.g. non-first fragment) and its ports (-1 when < 4 bytes). */
  innerL4Off = -1;
  innerSrcPort = -1;
  innerDstPort = -1;

  /** NDP (NS/NA): target address offset and the link-layer address option value (-1 when absent). */
  ndTargetOff = -1;
  ndLlaOff = -1;

  /** ARP (Ethernet/IPv4 only): opcode and offsets of sender/target hardware and protocol addresses. */
  arpOp = 0;
  arpShaOff = -1;
  arpSpaOff = -1;
  arpThaOff = -1;
  arpTpaOff = -1;

  /** The verdict of the last parse (same as parseFrame's return value). */
  verdict = PARSE_OK;
}

/** Resets the IP and upper-layer part of a ParsedFrame (parseFrame and parseIp call this). */
export function resetIp(p: ParsedFrame): void {
  p.family = 0; p.ipOff = -1; p.ipHdrLen = 0; p.ipEnd = 0; p.srcOff = -1; p.dstOff = -1;
  p.ttl = 0; p.tos = 0; p.ipId = 0; p.df = 0; p.isFragment = 0; p.fragOffset = 0; p.moreFragments = 0;
  p.fragHdrOff = -1; p.proto = -1;
  p.l4Off = -1; p.l4Len = 0; p.l4HdrLen = 0; p.payloadOff = -1; p.l4CsumOff = -1; p.srcPort = -1; p.dstPort = -1;
  p.tcpFlags = 0; p.tcpSeq = 0; p.tcpAck = 0; p.sctpVtag = 0; p.sctpChunkType = -1;
  p.icmpType = -1; p.icmpCode = -1; p.icmpIsError = 0;
  p.innerFamily = 0; p.innerIpOff = -1; p.innerIpHdrLen = 0; p.innerEnd = 0; p.innerSrcOff = -1; p.innerDstOff = -1;
  p.innerProto = -1; p.innerL4Off = -1; p.innerSrcPort = -1; p.innerDstPort = -1;
  p.ndTargetOff = -1; p.ndLlaOff = -1;
  p.arpOp = 0; p.arpShaOff = -1; p.arpSpaOff = -1; p.arpThaOff = -1; p.arpTpaOff = -1;
}

/** Reads a big-endian 16-bit value. */
export function rd16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/** Reads a big-endian 32-bit value as an unsigned number. */
export function rd32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Writes a big-endian 16-bit value. */
export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/** Writes a big-endian 32-bit value. */
export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Copies n bytes src[srcOff..] to dst[dstOff..] without allocating when both views share one
 * ArrayBuffer and the source lies inside dst's view (the mapped-ring case: `copyWithin`); short
 * copies use a loop; otherwise `set` over a subarray (one small view object).
 */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  if (n <= 0) return;
  if (dst === src) { dst.copyWithin(dstOff, srcOff, srcOff + n); return; }
  if (dst.buffer === src.buffer) {
    const rel = src.byteOffset + srcOff - dst.byteOffset;
    if (rel >= 0 && rel + n <= dst.length) { dst.copyWithin(dstOff, rel, rel + n); return; }
  }
  if (n <= 64) {
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
    return;
  }
  dst.set(src.subarray(srcOff, srcOff + n), dstOff);
}
