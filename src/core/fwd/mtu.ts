// The MTU rule every method applies before sending (spec §3, kernel ensure_mtu_is_adequate):
// an IPv4 packet with DF larger than the route MTU (minus the tunnel overhead for TUN) is dropped
// with ICMP fragmentation-needed carrying that MTU; IPv6 is dropped with packet-too-big; ICMP
// errors and non-first IPv6 fragments get no ICMP. Tunnel MTUs must stay >= 68 (IPv6 outer: 1280).
// With pmtu_disc=0 a tunnelled IPv4 packet is sent anyway (the outer packet gets fragmented).
// Also the translation of frag-needed errors about tsvs's own tunnel packets (spec §2.6).
import { buildIcmpError, writeIcmpError, ICMP_ERR_FRAG_NEEDED } from '../packet/icmp-error.js';
import { writeEthHeader } from '../packet/ethernet.js';
import { type ParsedFrame, ETH_P_IP, ETH_P_IPV6, IPPROTO_GRE, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_UDP, BUILD_NOT_APPLICABLE, BUILD_NO_ROOM, rd16 } from '../packet/frame.js';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../packet/l4.js';
import { gueInnerOffset, greInnerOffset } from '../packet/tunnel-view.js';

/** Verdicts of mtuCheck. */
export const MTU_OK = 0;
/** Too big with DF (or IPv6): drop and send frag-needed / packet-too-big with mtuToReport(). */
export const MTU_FRAG_NEEDED = 1;
/** Too big, no ICMP may be sent (an ICMP error, a non-first IPv6 fragment): drop. */
export const MTU_DROP = 2;
/** Too big, IPv4 without DF (or a tunnel with pmtu_disc=0): fragment, or hand to the kernel to do so. */
export const MTU_FRAGMENT = 3;
/** The route MTU minus the tunnel overhead is below 68 (IPv6 outer: 1280): drop (kernel "mtu less than"). */
export const MTU_TOO_SMALL = 4;

/**
 * Checks the parsed packet against `routeMtu` (the egress MTU). For tunnels pass the overhead
 * (tunnelOverhead()) and the outer family; 0 for other methods. GSO/GRO super-frames are the
 * caller's business (the kernel skips them too).
 */
export function mtuCheck(p: ParsedFrame, routeMtu: number, overhead = 0, outerFamily = 0, pmtuDisc = true): number {
  const eff = routeMtu - overhead;
  if (outerFamily !== 0 && eff < (outerFamily === 6 ? 1280 : 68)) return MTU_TOO_SMALL;
  if (p.ipEnd - p.ipOff <= eff) return MTU_OK;
  if (p.family === 4) {
    if ((outerFamily !== 0 && !pmtuDisc) || p.df === 0) return MTU_FRAGMENT;
    return p.icmpIsError !== 0 ? MTU_DROP : MTU_FRAG_NEEDED;
  }
  return p.icmpIsError !== 0 || p.fragOffset !== 0 ? MTU_DROP : MTU_FRAG_NEEDED;
}

/** The MTU to put in the ICMP error: the route MTU minus the tunnel overhead. */
export function mtuToReport(routeMtu: number, overhead = 0): number {
  return routeMtu - overhead;
}

/**
 * Builds the frag-needed / packet-too-big frame for a packet mtuCheck refused, back to its sender
 * (source address = the packet's destination, i.e. the VIP, unless `src` is given). Returns the
 * frame length or a BUILD_* code.
 */
export function buildMtuError(out: Uint8Array, outOff: number, cap: number, buf: Uint8Array, p: ParsedFrame, mtu: number,
  srcMac: Uint8Array, src: Uint8Array | null, ipId: number): number {
  return buildIcmpError(out, outOff, cap, buf, p, ICMP_ERR_FRAG_NEEDED, mtu, srcMac, src, ipId);
}

/**
 * A real server (or a router on the way) answered one of tsvs's IPIP/GUE/GRE packets with ICMP
 * fragmentation-needed (`p`, IPv4). Builds the error the client must see (kernel ip_vs_in_icmp
 * tunnel case, spec §2.6): about the client's packet quoted inside the tunnel packet, with the MTU
 * reduced by the tunnel overhead (kernel: outer IP header only; here the full overhead measured
 * from the quote, so GUE/GRE clients get a size that really fits), from the VIP, to `dstMac` via
 * `srcMac`. `guePort` identifies GUE (0: none). A client IPv4 packet without DF gets nothing
 * (BUILD_NOT_APPLICABLE), as in the kernel. Returns the frame length or a BUILD_* code.
 */
export function tunnelIcmpTranslate(out: Uint8Array, outOff: number, cap: number, buf: Uint8Array, p: ParsedFrame,
  guePort: number, dstMac: Uint8Array, srcMac: Uint8Array, ipId: number): number {
  if (p.family !== 4 || p.icmpType !== ICMP_DEST_UNREACH || p.icmpCode !== ICMP_FRAG_NEEDED) return BUILD_NOT_APPLICABLE;
  if (p.innerFamily !== 4 || p.innerL4Off < 0) return BUILD_NOT_APPLICABLE;
  const l4 = p.innerL4Off;
  const end = p.innerEnd;
  let client: number;
  switch (p.innerProto) {
    case IPPROTO_IPIP:
    case IPPROTO_IPV6:
      client = l4;
      break;
    case IPPROTO_UDP:
      if (guePort === 0 || l4 + 8 > end || rd16(buf, l4 + 2) !== guePort) return BUILD_NOT_APPLICABLE;
      client = gueInnerOffset(buf, l4 + 8, end);
      break;
    case IPPROTO_GRE:
      client = greInnerOffsetNoCsum(buf, l4, end);
      break;
    default:
      return BUILD_NOT_APPLICABLE;
  }
  if (client < 0 || client >= end) return BUILD_NOT_APPLICABLE;
  const v = buf[client] >>> 4;
  if (v === 4 && (client + 20 > end || (rd16(buf, client + 6) & 0x4000) === 0)) return BUILD_NOT_APPLICABLE;
  const overhead = client - p.innerIpOff;
  const mtu = rd16(buf, p.l4Off + 6);
  const report = mtu > 68 + overhead ? mtu - overhead : mtu;
  if (cap < 14) return BUILD_NO_ROOM;
  const n = writeIcmpError(out, outOff + 14, cap - 14, buf, client, end, ICMP_ERR_FRAG_NEEDED, report, null, ipId);
  if (n < 0) return n;
  writeEthHeader(out, outOff, dstMac, srcMac, v === 4 ? ETH_P_IP : ETH_P_IPV6);
  return 14 + n;
}

/** GRE header length check without the checksum (a quoted GRE packet is truncated, so its checksum cannot verify). */
function greInnerOffsetNoCsum(b: Uint8Array, off: number, end: number): number {
  if (off + 4 > end) return -1;
  const flags = rd16(b, off);
  if ((flags & 0x8000) === 0) return greInnerOffset(b, off, end);
  const hl = 8 + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
  return off + hl <= end && (flags & 0x4007) === 0 ? off + hl : -1;
}
