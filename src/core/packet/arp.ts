// ARP frames tsvs emits for its VIPs (design "The packet plane": tsvs answers ARP itself and
// announces VIPs with gratuitous ARP on start and takeover). Ethernet/IPv4 only (RFC 826).
// Frames are 42 bytes (+4 per VLAN tag), unpadded: the NIC pads to the 60-byte minimum as it does
// for the kernel's own arp_send.
import { type ParsedFrame, ETH_P_ARP, ETH_P_IP, BUILD_NO_ROOM, BUILD_NOT_APPLICABLE, wr16 } from './frame.js';
import { MAC_BROADCAST, writeL2Header, writeMac, writeReplyL2 } from './ethernet.js';

/** ARP opcodes. */
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

/** Bytes of an untagged ARP frame. */
export const ARP_FRAME_LEN = 42;

function writeArpBody(out: Uint8Array, o: number, op: number, sha: Uint8Array, shaOff: number, spa: Uint8Array,
  spaOff: number, tha: Uint8Array | null, thaOff: number, tpa: Uint8Array, tpaOff: number): void {
  wr16(out, o, 1); // htype Ethernet
  wr16(out, o + 2, ETH_P_IP);
  out[o + 4] = 6;
  out[o + 5] = 4;
  wr16(out, o + 6, op);
  writeMac(out, o + 8, sha, shaOff);
  for (let i = 0; i < 4; i++) out[o + 14 + i] = spa[spaOff + i];
  if (tha) writeMac(out, o + 18, tha, thaOff);
  else for (let i = 0; i < 6; i++) out[o + 18 + i] = 0;
  for (let i = 0; i < 4; i++) out[o + 24 + i] = tpa[tpaOff + i];
}

/**
 * Answers a parsed ARP request for an address tsvs owns (the caller checked the target address
 * in buf[p.arpTpaOff..+4] is a VIP): sender = (mac, requested address), target = the requester.
 * Writes into out[outOff, outOff+cap) — which may be the request's own bytes — and returns the length.
 */
export function buildArpReply(out: Uint8Array, outOff: number, cap: number, buf: Uint8Array, p: ParsedFrame, mac: Uint8Array): number {
  if (p.arpOp !== ARPOP_REQUEST || p.arpShaOff < 0) return BUILD_NOT_APPLICABLE;
  const l2 = p.l3Off - p.start;
  if (cap < l2 + 28) return BUILD_NO_ROOM;
  // Keep the request's addresses before anything is overwritten (in-place replies).
  const s0 = buf[p.arpShaOff], s1 = buf[p.arpShaOff + 1], s2 = buf[p.arpShaOff + 2];
  const s3 = buf[p.arpShaOff + 3], s4 = buf[p.arpShaOff + 4], s5 = buf[p.arpShaOff + 5];
  const a0 = buf[p.arpSpaOff], a1 = buf[p.arpSpaOff + 1], a2 = buf[p.arpSpaOff + 2], a3 = buf[p.arpSpaOff + 3];
  const t0 = buf[p.arpTpaOff], t1 = buf[p.arpTpaOff + 1], t2 = buf[p.arpTpaOff + 2], t3 = buf[p.arpTpaOff + 3];
  const o = writeReplyL2(out, outOff, buf, p, mac);
  // The Ethernet destination is the requester's hardware address from the ARP body (RFC 826),
  // which normally equals the frame's source MAC.
  out[outOff] = s0; out[outOff + 1] = s1; out[outOff + 2] = s2; out[outOff + 3] = s3; out[outOff + 4] = s4; out[outOff + 5] = s5;
  wr16(out, o, 1);
  wr16(out, o + 2, ETH_P_IP);
  out[o + 4] = 6;
  out[o + 5] = 4;
  wr16(out, o + 6, ARPOP_REPLY);
  writeMac(out, o + 8, mac);
  out[o + 14] = t0; out[o + 15] = t1; out[o + 16] = t2; out[o + 17] = t3;
  out[o + 18] = s0; out[o + 19] = s1; out[o + 20] = s2; out[o + 21] = s3; out[o + 22] = s4; out[o + 23] = s5;
  out[o + 24] = a0; out[o + 25] = a1; out[o + 26] = a2; out[o + 27] = a3;
  return o + 28 - outOff;
}

/**
 * A gratuitous ARP announcing `ip` (4 bytes) at `mac`: broadcast, sender = target = ip, target
 * hardware address zero (RFC 5227 §3 / the kernel's arp_send with no target MAC). `op` is
 * ARPOP_REQUEST (the common form, as arping -U and keepalived send) or ARPOP_REPLY (arping -A).
 * `vlanTci` >= 0 adds an 802.1Q tag. Returns the length or BUILD_NO_ROOM.
 */
export function buildGratuitousArp(out: Uint8Array, outOff: number, cap: number, mac: Uint8Array, ip: Uint8Array,
  op = ARPOP_REQUEST, vlanTci = -1): number {
  const l2 = vlanTci >= 0 ? 18 : 14;
  if (cap < l2 + 28) return BUILD_NO_ROOM;
  const o = writeL2Header(out, outOff, MAC_BROADCAST, mac, ETH_P_ARP, vlanTci);
  writeArpBody(out, o, op, mac, 0, ip, 0, null, 0, ip, 0);
  return l2 + 28;
}
