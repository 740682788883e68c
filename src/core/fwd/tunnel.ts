// Tunnelling (spec §3.3, `ip_vs_tunnel_xmit[_v6]`): the original IP packet, TTL already
// decremented, is put behind a new Ethernet + outer IP header [+ UDP + GUE | + GRE]:
//  - outer source = the director's address toward the real server, destination = the real server;
//  - protocol 4 (IPv4 inner) / 41 (IPv6 inner), or 17 (GUE) / 47 (GRE);
//  - TOS / traffic class copied with ECN encapsulated per RFC 6040 (INET_ECN_encapsulate: CE → ECT(0));
//  - TTL / hop limit = the inner one after the decrement; IPv6 outer flow label 0;
//  - DF copied from an IPv4 inner header only when pmtu_disc (IPv6 inner: DF 0);
//  - IP ID 0 when DF is set (ip_select_ident), else the caller's counter value;
//  - GUE: UDP source port from a flow hash (udp_flow_src_port), destination = tun port, 4-byte
//    header (version 0, hlen 0, proto 4/41); UDP checksum 0 for nocsum, computed for csum/remcsum;
//  - GRE: version 0, protocol 0x0800/0x86DD, checksum word when csum.
// REMCSUM never adds the remote-checksum option here: tsvs completes partial inner checksums before
// encapsulating (completeL4Checksum), and the kernel only adds it for CHECKSUM_PARTIAL packets.
import { applyDelta, checksum, ipv4HeaderChecksum, pseudoSum4, pseudoSum6 } from '../net/checksum.js';
import type { TunnelCsum, TunnelType } from '../service/types.js';
import { writeEthHeader } from '../packet/ethernet.js';
import {
  type ParsedFrame, ETH_P_IP, ETH_P_IPV6, IPPROTO_GRE, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_UDP, copyBytes, rd16, wr16,
} from '../packet/frame.js';
import { TUN_UNSUPPORTED, gueRemcsum, tunnelInnerOffset } from '../packet/tunnel-view.js';
import { FWD_FAMILY, FWD_NO_ROOM, FWD_NOT_IP, FWD_TTL_EXCEEDED, completeChecksumAt, ttlDelta } from './common.js';

/** Where and how to tunnel to one real server (built once per destination, reused per packet). */
export interface TunnelTarget {
  readonly type: TunnelType;
  readonly csum: TunnelCsum;
  /** GUE destination port (--tun-port). */
  readonly port: number;
  /** Outer source (director) and destination (real server): both 4 or both 16 bytes. */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** Next-hop MAC toward the real server and the egress interface MAC. */
  readonly dstMac: Uint8Array;
  readonly srcMac: Uint8Array;
  /** net.ipv4.vs.pmtu_disc (default 1): copy DF from the inner IPv4 header. */
  readonly pmtuDisc: boolean;
}

/** Bytes the tunnel adds in front of the inner IP packet (outer IP + UDP/GUE or GRE), spec §3.3 MTU rule. */
export function tunnelOverhead(outerFamily: number, type: TunnelType, csum: TunnelCsum): number {
  const ip = outerFamily === 6 ? 40 : 20;
  if (type === 'gue') return ip + 8 + 4;
  if (type === 'gre') return ip + (csum === 'nocsum' ? 4 : 8);
  return ip;
}

/** RFC 6040 / INET_ECN_encapsulate: copy DSCP and ECN, but a CE inner becomes ECT(0) outside. */
export function ecnEncapsulate(tos: number): number {
  return (tos & 0x03) === 0x03 ? (tos & 0xfc) | 0x02 : tos;
}

/**
 * A 32-bit flow hash of the parsed packet's addresses, protocol and ports (stands in for the
 * kernel's skb_get_hash; `seed` plays its random key). Never 0, like __flow_hash_from_keys.
 */
export function flowHash(buf: Uint8Array, p: ParsedFrame, seed = 0): number {
  let h = (seed ^ p.proto) | 0;
  const alen = p.family === 6 ? 16 : 4;
  for (let i = 0; i < alen; i += 4) {
    h = mix(h ^ ((buf[p.srcOff + i] << 24) | (buf[p.srcOff + i + 1] << 16) | (buf[p.srcOff + i + 2] << 8) | buf[p.srcOff + i + 3]));
    h = mix(h ^ ((buf[p.dstOff + i] << 24) | (buf[p.dstOff + i + 1] << 16) | (buf[p.dstOff + i + 2] << 8) | buf[p.dstOff + i + 3]));
  }
  if (p.srcPort >= 0) h = mix(h ^ ((p.srcPort << 16) | p.dstPort));
  h >>>= 0;
  return h === 0 ? 1 : h;
}

function mix(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The kernel's udp_flow_src_port: hash ^= hash << 16, scaled into [min, max) (default local port range). */
export function udpFlowSrcPort(hash: number, min = 32768, max = 60999): number {
  const h = (hash ^ (hash << 16)) >>> 0;
  return Math.floor((h * (max - min)) / 4294967296) + min;
}

/**
 * Encapsulates the parsed packet into out[outOff, outOff+cap) (Ethernet + outer headers + the
 * inner IP packet with TTL - 1; Ethernet padding dropped). The input frame is not modified.
 * `ipId` is the outer IPv4 identification when DF is clear; `hash` the flow hash for the GUE
 * source port. Returns the output length or FWD_TTL_EXCEEDED / FWD_NOT_IP / FWD_FAMILY / FWD_NO_ROOM.
 */
export function tunnelEncap(out: Uint8Array, outOff: number, cap: number, buf: Uint8Array, p: ParsedFrame,
  t: TunnelTarget, ipId: number, hash: number): number {
  if (p.family === 0) return FWD_NOT_IP;
  const of = t.src.length === 4 ? 4 : 6;
  if ((of === 4 ? 4 : 16) !== t.dst.length || (t.src.length !== 4 && t.src.length !== 16)) return FWD_FAMILY;
  if (p.ttl <= 1) return FWD_TTL_EXCEEDED;
  const innerLen = p.ipEnd - p.ipOff;
  const ipHl = of === 4 ? 20 : 40;
  const tunHl = t.type === 'gue' ? 12 : t.type === 'gre' ? (t.csum === 'nocsum' ? 4 : 8) : 0;
  const hdr = 14 + ipHl + tunHl;
  if (cap < hdr + innerLen) return FWD_NO_ROOM;
  // 1. the inner packet, moved first (out may share the ring buffer), then TTL - 1 in the copy.
  const ii = outOff + hdr;
  copyBytes(out, ii, buf, p.ipOff, innerLen);
  if (p.family === 4) {
    const c = applyDelta(rd16(out, ii + 10), ttlDelta(out, ii));
    out[ii + 8]--;
    wr16(out, ii + 10, c);
  } else {
    out[ii + 7]--;
  }
  const ttl = p.ttl - 1;
  const tos = ecnEncapsulate(p.tos);
  const innerProto = p.family === 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
  const proto = t.type === 'gue' ? IPPROTO_UDP : t.type === 'gre' ? IPPROTO_GRE : innerProto;
  const df = p.family === 4 && p.df !== 0 && t.pmtuDisc;
  // 2. Ethernet
  const io = writeEthHeader(out, outOff, t.dstMac, t.srcMac, of === 4 ? ETH_P_IP : ETH_P_IPV6);
  // 3. outer IP
  const payload = tunHl + innerLen;
  if (of === 4) {
    out[io] = 0x45;
    out[io + 1] = tos;
    wr16(out, io + 2, 20 + payload);
    wr16(out, io + 4, df ? 0 : ipId & 0xffff);
    wr16(out, io + 6, df ? 0x4000 : 0);
    out[io + 8] = ttl;
    out[io + 9] = proto;
    for (let i = 0; i < 4; i++) { out[io + 12 + i] = t.src[i]; out[io + 16 + i] = t.dst[i]; }
    ipv4HeaderChecksum(out, io, 20);
  } else {
    out[io] = 0x60 | (tos >>> 4);
    out[io + 1] = (tos & 0x0f) << 4;
    out[io + 2] = 0;
    out[io + 3] = 0;
    wr16(out, io + 4, payload);
    out[io + 6] = proto;
    out[io + 7] = ttl;
    for (let i = 0; i < 16; i++) { out[io + 8 + i] = t.src[i]; out[io + 24 + i] = t.dst[i]; }
  }
  // 4. tunnel header
  const th = io + ipHl;
  if (t.type === 'gue') {
    wr16(out, th, udpFlowSrcPort(hash));
    wr16(out, th + 2, t.port);
    wr16(out, th + 4, payload);
    wr16(out, th + 6, 0);
    out[th + 8] = 0; // version 0, C 0, hlen 0
    out[th + 9] = innerProto;
    out[th + 10] = 0;
    out[th + 11] = 0;
    if (t.csum !== 'nocsum') {
      const seed = of === 4 ? pseudoSum4(out, io + 12, io + 16, IPPROTO_UDP, payload) : pseudoSum6(out, io + 8, io + 24, IPPROTO_UDP, payload);
      const v = checksum(out, th, payload, seed);
      wr16(out, th + 6, v === 0 ? 0xffff : v);
    }
  } else if (t.type === 'gre') {
    wr16(out, th, t.csum === 'nocsum' ? 0 : 0x8000);
    wr16(out, th + 2, p.family === 4 ? ETH_P_IP : ETH_P_IPV6);
    if (t.csum !== 'nocsum') {
      wr16(out, th + 4, 0);
      wr16(out, th + 6, 0);
      wr16(out, th + 4, checksum(out, th, payload));
    }
  }
  return hdr + innerLen;
}

/**
 * For a real-server decapsulator: the offset of the inner IP packet of a parsed IPIP / IPv6-in-IP /
 * GRE packet, or GUE on UDP port `guePort` (0: none) — it spans [offset, p.ipEnd). A GUE remote
 * checksum offload option is applied in place (the inner checksum completed). Negative: TUN_* code.
 */
export function tunnelDecap(buf: Uint8Array, p: ParsedFrame, guePort: number): number {
  const inner = tunnelInnerOffset(buf, p, guePort);
  if (inner >= 0 && gueRemcsum.start >= 0 && p.proto === IPPROTO_UDP) {
    // pd[1] is the checksum field's offset from the inner start (ipvs_gue_encap: csum_start + csum_offset).
    if (!completeChecksumAt(buf, inner + gueRemcsum.start, gueRemcsum.offset - gueRemcsum.start, p.ipEnd)) return TUN_UNSUPPORTED;
  }
  return inner;
}
