// Masquerading / NAT (spec §3.1, `ip_vs_nat_xmit`): inbound DNAT of the destination to the real
// server (port 0 in the destination keeps the virtual port), outbound SNAT of replies back to the
// VIP and virtual port, and the related ICMP errors in both directions (spec §2.6).
import type { ParsedFrame } from '../packet/frame.js';
import { natIcmpRewrite, natRewrite } from './nat.js';

/**
 * Client → real server: destination address := `rsAddr`, destination port := `rsPort` (0 keeps the
 * virtual port). In place; returns the frame length or a FWD_* code.
 */
export function masqIn(buf: Uint8Array, p: ParsedFrame, rsAddr: Uint8Array, rsPort: number, dstMac: Uint8Array,
  srcMac: Uint8Array, flags = 0): number {
  return natRewrite(buf, p, null, -1, rsAddr, rsPort === 0 ? -1 : rsPort, dstMac, srcMac, flags);
}

/** Real server → client: source address := `vip`, source port := `vport`. In place; frame length or FWD_*. */
export function masqOut(buf: Uint8Array, p: ParsedFrame, vip: Uint8Array, vport: number, dstMac: Uint8Array,
  srcMac: Uint8Array, flags = 0): number {
  return natRewrite(buf, p, vip, vport, null, -1, dstMac, srcMac, flags);
}

/**
 * An ICMP error from the client side about a reply (quoted VIP:vport → client) going to the real
 * server: outer destination := `rsAddr`, quoted source := `rsAddr`:`rsPort` (ip_vs_nat_icmp, inout=0).
 */
export function masqIcmpIn(buf: Uint8Array, p: ParsedFrame, rsAddr: Uint8Array, rsPort: number, dstMac: Uint8Array,
  srcMac: Uint8Array): number {
  return natIcmpRewrite(buf, p, null, rsAddr, rsAddr, rsPort === 0 ? -1 : rsPort, null, -1, dstMac, srcMac);
}

/**
 * An ICMP error from the real server about a request (quoted client → RS:rport) going to the
 * client: outer source := `vip`, quoted destination := `vip`:`vport` (ip_vs_nat_icmp, inout=1).
 */
export function masqIcmpOut(buf: Uint8Array, p: ParsedFrame, vip: Uint8Array, vport: number, dstMac: Uint8Array,
  srcMac: Uint8Array): number {
  return natIcmpRewrite(buf, p, vip, null, null, -1, vip, vport, dstMac, srcMac);
}
