// Direct routing (spec §3.2, `ip_vs_dr_xmit`): nothing changes at L3/L4 but the TTL (and the IPv4
// header checksum with it); the frame is re-addressed at L2 to the real server's MAC.
import type { ParsedFrame } from '../packet/frame.js';
import { FWD_NOT_IP, FWD_TTL_EXCEEDED, decrementTtl, setMacs } from './common.js';

/**
 * Rewrites the parsed frame in place for direct routing: TTL/hop limit - 1 (IPv4 checksum updated
 * incrementally), destination MAC = the real server's, source MAC = the egress interface's.
 * Returns the frame length, FWD_TTL_EXCEEDED (unchanged; answer with ICMP time exceeded) or FWD_NOT_IP.
 */
export function drouteRewrite(buf: Uint8Array, p: ParsedFrame, dstMac: Uint8Array, srcMac: Uint8Array): number {
  if (p.family === 0) return FWD_NOT_IP;
  if (!decrementTtl(buf, p)) return FWD_TTL_EXCEEDED;
  setMacs(buf, p.start, dstMac, srcMac);
  return p.end - p.start;
}
