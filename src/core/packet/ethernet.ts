// Ethernet (and 802.1Q) header writers shared by the builders and the forwarding rewrites.
// MAC addresses are passed as 6-byte Uint8Arrays (created once per destination/interface).
import { type ParsedFrame, ETH_P_8021Q, copyBytes, wr16 } from './frame.js';

/** ff:ff:ff:ff:ff:ff */
export const MAC_BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Parses "aa:bb:cc:dd:ee:ff" (control path helper); undefined when malformed. */
export function parseMac(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/.test(text)) return undefined;
  return new Uint8Array(text.split(':').map((h) => parseInt(h, 16)));
}

/** Formats a MAC address as lowercase colon-separated hex. */
export function formatMac(b: Uint8Array, off = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[off + i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Writes 6 bytes of MAC from mac[mOff..] to out[o..]. */
export function writeMac(out: Uint8Array, o: number, mac: Uint8Array, mOff = 0): void {
  out[o] = mac[mOff]; out[o + 1] = mac[mOff + 1]; out[o + 2] = mac[mOff + 2];
  out[o + 3] = mac[mOff + 3]; out[o + 4] = mac[mOff + 4]; out[o + 5] = mac[mOff + 5];
}

/** Writes an untagged Ethernet header; returns the offset just after it. */
export function writeEthHeader(out: Uint8Array, o: number, dst: Uint8Array, src: Uint8Array, etherType: number): number {
  writeMac(out, o, dst);
  writeMac(out, o + 6, src);
  out[o + 12] = etherType >>> 8;
  out[o + 13] = etherType & 0xff;
  return o + 14;
}

/**
 * An Ethernet header with an optional 802.1Q tag (`vlanTci` >= 0: 18 bytes, else 14). Returns the
 * offset of the payload.
 */
export function writeL2Header(out: Uint8Array, o: number, dst: Uint8Array, src: Uint8Array, etherType: number, vlanTci = -1): number {
  if (vlanTci < 0) return writeEthHeader(out, o, dst, src, etherType);
  writeEthHeader(out, o, dst, src, ETH_P_8021Q);
  wr16(out, o + 14, vlanTci);
  wr16(out, o + 16, etherType);
  return o + 18;
}

/**
 * Writes the L2 header of a reply to the frame `p` describes: destination = the frame's source
 * MAC, source = `srcMac`, then the frame's VLAN tags and EtherType copied verbatim (the reply
 * leaves on the same VLAN). Returns the offset just after it.
 */
export function writeReplyL2(out: Uint8Array, o: number, buf: Uint8Array, p: ParsedFrame, srcMac: Uint8Array): number {
  const s = p.start;
  // Read the source MAC before writing, in case out and buf overlap (reply built in place).
  const m0 = buf[s + 6], m1 = buf[s + 7], m2 = buf[s + 8], m3 = buf[s + 9], m4 = buf[s + 10], m5 = buf[s + 11];
  const tagBytes = p.l3Off - s - 12;
  copyBytes(out, o + 12, buf, s + 12, tagBytes);
  out[o] = m0; out[o + 1] = m1; out[o + 2] = m2; out[o + 3] = m3; out[o + 4] = m4; out[o + 5] = m5;
  writeMac(out, o + 6, srcMac);
  return o + 12 + tagBytes;
}
