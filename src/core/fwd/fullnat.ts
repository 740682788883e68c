// Full NAT (tsvs's own method, spec §3 / types.ts ForwardMethod 'fullnat'): requests are
// translated on both sides — source := a director local address/port, destination := the real
// server — so replies come back to the director without routing tricks on the real server; replies
// are translated back to VIP:vport → client:cport. Same checksum rules as masquerading (nat.ts).
import type { ParsedFrame } from '../packet/frame.js';
import { natIcmpRewrite, natRewrite } from './nat.js';

/** Client:cport → VIP:vport becomes laddr:lport → rsAddr:rsPort. In place; frame length or FWD_*. */
export function fullnatIn(buf: Uint8Array, p: ParsedFrame, laddr: Uint8Array, lport: number, rsAddr: Uint8Array, rsPort: number,
  dstMac: Uint8Array, srcMac: Uint8Array, flags = 0): number {
  return natRewrite(buf, p, laddr, lport, rsAddr, rsPort === 0 ? -1 : rsPort, dstMac, srcMac, flags);
}

/** rsAddr:rsPort → laddr:lport becomes VIP:vport → client:cport. In place; frame length or FWD_*. */
export function fullnatOut(buf: Uint8Array, p: ParsedFrame, vip: Uint8Array, vport: number, client: Uint8Array, cport: number,
  dstMac: Uint8Array, srcMac: Uint8Array, flags = 0): number {
  return natRewrite(buf, p, vip, vport, client, cport, dstMac, srcMac, flags);
}

/**
 * An ICMP error from the client side about a reply (quoted VIP:vport → client:cport) going to the
 * real server: outer laddr → rsAddr; quoted rsAddr:rsPort → laddr:lport, as the real server sent it.
 */
export function fullnatIcmpIn(buf: Uint8Array, p: ParsedFrame, laddr: Uint8Array, lport: number, rsAddr: Uint8Array,
  rsPort: number, dstMac: Uint8Array, srcMac: Uint8Array): number {
  return natIcmpRewrite(buf, p, laddr, rsAddr, rsAddr, rsPort === 0 ? -1 : rsPort, laddr, lport, dstMac, srcMac);
}

/**
 * An ICMP error from the real server about a request (quoted laddr:lport → rsAddr:rsPort) going to
 * the client: outer VIP → client; quoted client:cport → VIP:vport, as the client sent it.
 */
export function fullnatIcmpOut(buf: Uint8Array, p: ParsedFrame, vip: Uint8Array, vport: number, client: Uint8Array,
  cport: number, dstMac: Uint8Array, srcMac: Uint8Array): number {
  return natIcmpRewrite(buf, p, vip, client, client, cport, vip, vport, dstMac, srcMac);
}
