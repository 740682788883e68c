// ARP and NDP for VIPs in the forwarding loop (design "The packet plane": tsvs answers ARP/NDP for
// its VIPs itself, announces them on start, and the kernel is kept out by the nft rules). Also
// builds the requests for active neighbour resolution (ARP who-has, neighbour solicitation) —
// src/core/packet has the replies and announcements but not these two, so they live here.
import { type IpAddress, ipKey, ipv4ToU32 } from '../../core/net/addr.js';
import { checksum, pseudoSum6 } from '../../core/net/checksum.js';
import { ARPOP_REPLY, ARPOP_REQUEST, buildArpReply, buildGratuitousArp } from '../../core/packet/arp.js';
import { MAC_BROADCAST, writeEthHeader, writeMac } from '../../core/packet/ethernet.js';
import { ETH_P_ARP, ETH_P_IPV6, IPPROTO_ICMPV6, ParsedFrame, PARSE_OK, rd32, wr16 } from '../../core/packet/frame.js';
import { NDISC_NEIGHBOUR_ADVERTISEMENT, NDISC_NEIGHBOUR_SOLICITATION } from '../../core/packet/l4.js';
import { buildNaReply, buildUnsolicitedNa } from '../../core/packet/ndp.js';
import { parseFrame } from '../../core/packet/parse-frame.js';
import type { NeighbourCache } from './neighbour.js';

/** Bytes of an untagged neighbour solicitation with a source link-layer option. */
export const NS_FRAME_LEN = 86;

/** The set of VIPs tsvs answers for; IPv4 by 32-bit value so a frame can be checked without allocating. */
export class VipSet {
  private readonly v4 = new Set<number>();
  private readonly v6 = new Set<string>();
  readonly list: readonly IpAddress[];

  constructor(addrs: readonly IpAddress[]) {
    const seen = new Set<string>();
    const list: IpAddress[] = [];
    for (const a of addrs) {
      const k = ipKey(a);
      if (seen.has(k)) continue;
      seen.add(k);
      list.push(a);
      if (a.family === 4) this.v4.add(ipv4ToU32(a));
      else this.v6.add(k);
    }
    this.list = list;
  }

  /** True when the 4 bytes at buf[off] are a VIP. */
  has4At(buf: Uint8Array, off: number): boolean {
    return this.v4.size > 0 && this.v4.has(rd32(buf, off) >>> 0);
  }

  /** True when the 16 bytes at buf[off] are a VIP (allocates a key: NDP only). */
  has6At(buf: Uint8Array, off: number): boolean {
    if (this.v6.size === 0) return false;
    return this.v6.has(ipKey({ family: 6, bytes: buf.subarray(off, off + 16) }));
  }

  /** True when the set has `a`. */
  has(a: IpAddress): boolean {
    return a.family === 4 ? this.v4.has(ipv4ToU32(a)) : this.v6.has(ipKey(a));
  }

  /** A stable key of the whole set (to notice changes). */
  key(): string {
    return this.list.map(ipKey).sort().join(',');
  }
}

/** An ARP who-has for `target` from (mac, srcIp), broadcast. Returns 42. */
export function buildArpRequest(out: Uint8Array, o: number, mac: Uint8Array, srcIp: Uint8Array, target: Uint8Array): number {
  let p = writeEthHeader(out, o, MAC_BROADCAST, mac, ETH_P_ARP);
  wr16(out, p, 1);
  wr16(out, p + 2, 0x0800);
  out[p + 4] = 6;
  out[p + 5] = 4;
  wr16(out, p + 6, ARPOP_REQUEST);
  writeMac(out, p + 8, mac);
  for (let i = 0; i < 4; i++) out[p + 14 + i] = srcIp[i];
  for (let i = 0; i < 6; i++) out[p + 18 + i] = 0;
  for (let i = 0; i < 4; i++) out[p + 24 + i] = target[i];
  p += 28;
  return p - o;
}

/**
 * A neighbour solicitation for `target` (RFC 4861 §4.3, §7.2.2): to the solicited-node multicast
 * address ff02::1:ffXX:XXXX (MAC 33:33:ff:XX:XX:XX), hop limit 255, with our link-layer address.
 * `src` should be the interface's link-local address. Returns 86.
 */
export function buildNeighbourSolicitation(out: Uint8Array, o: number, mac: Uint8Array, src: Uint8Array, target: Uint8Array): number {
  const t13 = target[13], t14 = target[14], t15 = target[15];
  out[o] = 0x33; out[o + 1] = 0x33; out[o + 2] = 0xff; out[o + 3] = t13; out[o + 4] = t14; out[o + 5] = t15;
  writeMac(out, o + 6, mac);
  wr16(out, o + 12, ETH_P_IPV6);
  const ip = o + 14;
  out[ip] = 0x60; out[ip + 1] = 0; out[ip + 2] = 0; out[ip + 3] = 0;
  wr16(out, ip + 4, 32);
  out[ip + 6] = IPPROTO_ICMPV6;
  out[ip + 7] = 255;
  for (let i = 0; i < 16; i++) out[ip + 8 + i] = src[i];
  const dst = ip + 24;
  out[dst] = 0xff; out[dst + 1] = 0x02;
  for (let i = 2; i < 11; i++) out[dst + i] = 0;
  out[dst + 11] = 1; out[dst + 12] = 0xff; out[dst + 13] = t13; out[dst + 14] = t14; out[dst + 15] = t15;
  const m = ip + 40;
  out[m] = NDISC_NEIGHBOUR_SOLICITATION; out[m + 1] = 0; out[m + 2] = 0; out[m + 3] = 0;
  out[m + 4] = 0; out[m + 5] = 0; out[m + 6] = 0; out[m + 7] = 0;
  for (let i = 0; i < 16; i++) out[m + 8 + i] = target[i];
  out[m + 24] = 1; // source link-layer address option
  out[m + 25] = 1;
  writeMac(out, m + 26, mac);
  wr16(out, m + 2, checksum(out, m, 32, pseudoSum6(out, ip + 8, ip + 24, IPPROTO_ICMPV6, 32)));
  return NS_FRAME_LEN;
}

/** What the responder did with a frame. */
export const NEIGH_PASS = 0;
/** A reply was written in place: send it back on the receiving interface. */
export const NEIGH_REPLIED = 1;
/** The frame was a VIP request we could not answer (counted), swallow it. */
export const NEIGH_SWALLOWED = 2;

/** Counters of the responder. */
export interface NeighbourCounters {
  arpReplies: number;
  naReplies: number;
  learned: number;
}

/**
 * Looks at ARP/NDP frames: answers requests for VIPs in place, and feeds the neighbour cache with
 * what senders reveal. Other frames cost one EtherType read.
 */
export class NeighbourResponder {
  readonly counters: NeighbourCounters = { arpReplies: 0, naReplies: 0, learned: 0 };
  private readonly p = new ParsedFrame();

  constructor(private vips: VipSet, private readonly cache: NeighbourCache, private readonly macOf: (ifIndex: number) => Uint8Array | undefined) {}

  /** Replaces the VIP set. */
  setVips(v: VipSet): void {
    this.vips = v;
  }

  /**
   * Handles buf[off, off+len) received on ifIndex (a reply may use up to `cap` bytes at `off`);
   * returns NEIGH_* and, for a reply, its length in `replyLen`.
   */
  handle(buf: Uint8Array, off: number, len: number, cap: number, ifIndex: number, nowMs: number): number {
    const b12 = buf[off + 12], b13 = buf[off + 13];
    const isArp = b12 === 0x08 && b13 === 0x06;
    // IPv6 with ICMPv6 as the first next header: NDP never carries extension headers we must walk.
    const isNd = b12 === 0x86 && b13 === 0xdd && buf[off + 20] === IPPROTO_ICMPV6 &&
      (buf[off + 54] === NDISC_NEIGHBOUR_SOLICITATION || buf[off + 54] === NDISC_NEIGHBOUR_ADVERTISEMENT);
    if (!isArp && !isNd) return NEIGH_PASS;
    const p = this.p;
    if (parseFrame(buf, len, p, off) !== PARSE_OK) return NEIGH_PASS;
    const mac = this.macOf(ifIndex);
    if (isArp) {
      if (p.arpSpaOff < 0) return NEIGH_PASS;
      const spa = { family: 4 as const, bytes: buf.slice(p.arpSpaOff, p.arpSpaOff + 4) };
      const solicited = p.arpOp === ARPOP_REPLY && mac !== undefined && sameMac(buf, p.arpThaOff, mac);
      if (rd32(buf, p.arpSpaOff) !== 0 && this.cache.learn(spa, ifIndex, buf.subarray(p.arpShaOff, p.arpShaOff + 6), nowMs, solicited)) this.counters.learned++;
      if (p.arpOp === ARPOP_REQUEST && this.vips.has4At(buf, p.arpTpaOff)) {
        if (!mac) return NEIGH_SWALLOWED;
        const n = buildArpReply(buf, off, cap, buf, p, mac);
        if (n <= 0) return NEIGH_SWALLOWED;
        this.replyLen = n;
        this.counters.arpReplies++;
        return NEIGH_REPLIED;
      }
      return NEIGH_PASS;
    }
    if (p.icmpType === NDISC_NEIGHBOUR_ADVERTISEMENT && p.ndTargetOff >= 0 && p.ndLlaOff >= 0) {
      const t = { family: 6 as const, bytes: buf.slice(p.ndTargetOff, p.ndTargetOff + 16) };
      const solicited = (buf[p.l4Off + 4] & 0x40) !== 0;
      if (this.cache.learn(t, ifIndex, buf.subarray(p.ndLlaOff, p.ndLlaOff + 6), nowMs, solicited)) this.counters.learned++;
      return NEIGH_PASS;
    }
    if (p.icmpType === NDISC_NEIGHBOUR_SOLICITATION && p.ndTargetOff >= 0 && this.vips.has6At(buf, p.ndTargetOff)) {
      if (!mac) return NEIGH_SWALLOWED;
      const n = buildNaReply(buf, off, cap, buf, p, mac);
      if (n <= 0) return NEIGH_SWALLOWED;
      this.replyLen = n;
      this.counters.naReplies++;
      return NEIGH_REPLIED;
    }
    return NEIGH_PASS;
  }

  /** Length of the last reply written by handle(). */
  replyLen = 0;
}

function sameMac(buf: Uint8Array, off: number, mac: Uint8Array): boolean {
  if (off < 0) return false;
  for (let i = 0; i < 6; i++) if (buf[off + i] !== mac[i]) return false;
  return true;
}

/** Writes a gratuitous announcement of `vip` from `mac` at out[o]; returns its length (or <= 0). */
export function buildAnnouncement(out: Uint8Array, o: number, cap: number, mac: Uint8Array, vip: IpAddress): number {
  return vip.family === 4 ? buildGratuitousArp(out, o, cap, mac, vip.bytes) : buildUnsolicitedNa(out, o, cap, mac, vip.bytes);
}

/** Bytes a slot must have for any frame this module builds. */
export const NEIGH_FRAME_MAX = 128;
