// parseFrame: one pass over an Ethernet frame (up to two VLAN tags, ARP, IPv4, IPv6, L4) that fills
// a reusable ParsedFrame and returns a verdict. Never throws, never allocates, never reads outside
// [start, start+len): every read is preceded by a bound check against that end.
import { parseIpv4Header } from './ipv4.js';
import { parseIpv6Header } from './ipv6.js';
import { parseL4 } from './l4.js';
import {
  type ParsedFrame, PARSE_OK, PARSE_NOT_OURS, BAD_ETH_TRUNC, BAD_VLAN_TRUNC, BAD_ARP_TRUNC, BAD_IP_VERSION,
  ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, ETH_P_8021Q, ETH_P_8021AD, resetIp, rd16,
} from './frame.js';

/** Ethernet header length without tags. */
export const ETH_HLEN = 14;

/**
 * Parses the frame buf[start, start+len) into `out` (all offsets absolute in `buf`).
 * Returns PARSE_OK, PARSE_NOT_OURS, or a malformed-reason code (>= PARSE_MALFORMED_BASE).
 */
export function parseFrame(buf: Uint8Array, len: number, out: ParsedFrame, start = 0): number {
  resetIp(out);
  out.start = start;
  const end = start + (len > buf.length - start ? buf.length - start : len);
  out.end = end;
  out.vlanCount = 0; out.vlanTci0 = -1; out.vlanTci1 = -1; out.etherType = 0; out.l3Off = -1;
  if (end - start < ETH_HLEN) return (out.verdict = BAD_ETH_TRUNC);
  let et = rd16(buf, start + 12);
  let o = start + ETH_HLEN;
  while (et === ETH_P_8021Q || et === ETH_P_8021AD) {
    if (out.vlanCount === 2) return (out.verdict = PARSE_NOT_OURS); // triple tagging: not ours
    if (o + 4 > end) return (out.verdict = BAD_VLAN_TRUNC);
    const tci = rd16(buf, o);
    if (out.vlanCount === 0) out.vlanTci0 = tci; else out.vlanTci1 = tci;
    out.vlanCount++;
    et = rd16(buf, o + 2);
    o += 4;
  }
  out.etherType = et;
  out.l3Off = o;
  if (et === ETH_P_IP || et === ETH_P_IPV6) {
    // The EtherType must agree with the IP version nibble.
    if (o < end && buf[o] >>> 4 !== (et === ETH_P_IP ? 4 : 6)) return (out.verdict = BAD_IP_VERSION);
    return (out.verdict = parseIpAt(buf, o, end, out));
  }
  if (et === ETH_P_ARP) return (out.verdict = parseArp(buf, o, end, out));
  return (out.verdict = PARSE_NOT_OURS);
}

/**
 * Parses an IP packet (v4 or v6 by its version nibble) in buf[off, end) into `out` — for frames
 * without an Ethernet header (TUN devices, decapsulated tunnel payloads). L2 fields are left as they are.
 */
export function parseIpAt(buf: Uint8Array, off: number, end: number, out: ParsedFrame): number {
  resetIp(out);
  if (off >= end) return BAD_IP_VERSION;
  const v = buf[off] >>> 4;
  const r = v === 4 ? parseIpv4Header(buf, off, end, out) : v === 6 ? parseIpv6Header(buf, off, end, out) : BAD_IP_VERSION;
  if (r !== PARSE_OK) { resetIp(out); return r; }
  const r4 = parseL4(buf, out);
  out.verdict = r4;
  return r4;
}

/** ARP for Ethernet/IPv4 (RFC 826): anything else is not ours. */
function parseArp(buf: Uint8Array, o: number, end: number, out: ParsedFrame): number {
  if (o + 8 > end) return BAD_ARP_TRUNC;
  if (rd16(buf, o) !== 1 || rd16(buf, o + 2) !== ETH_P_IP || buf[o + 4] !== 6 || buf[o + 5] !== 4) return PARSE_NOT_OURS;
  if (o + 28 > end) return BAD_ARP_TRUNC;
  out.arpOp = rd16(buf, o + 6);
  out.arpShaOff = o + 8;
  out.arpSpaOff = o + 14;
  out.arpThaOff = o + 18;
  out.arpTpaOff = o + 24;
  return PARSE_OK;
}
