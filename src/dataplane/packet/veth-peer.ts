// Which of the director's interfaces are veths whose peer, in another network namespace, may take
// the fast path's frames straight into its receive path (ADR 0005, "Delivery to a veth peer").
// `ip` cannot show a device of another namespace by its namespace id, so the peer's MAC comes from
// one rtnetlink request (RTM_GETLINK with IFLA_TARGET_NETNSID, Linux 4.20+) through libc.
import type { Libc } from './ffi.js';

/** A veth as `ip -j -d addr` shows it: its peer's namespace id (as this namespace numbers it) and index there. */
export interface VethPeerRef {
  readonly nsid: number;
  readonly ifIndex: number;
}

const AF_NETLINK = 16, SOCK_RAW = 3, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000, NETLINK_ROUTE = 0;
const RTM_GETLINK = 18, RTM_NEWLINK = 16, NLMSG_ERROR = 2, NLM_F_REQUEST = 1;
const IFLA_ADDRESS = 1, IFLA_TARGET_NETNSID = 46;
const NLMSG_HDR = 16, IFINFOMSG = 16;

/** The request: nlmsghdr, ifinfomsg (the peer's index), the target namespace id attribute. */
function request(ref: VethPeerRef): Uint8Array {
  const b = new Uint8Array(NLMSG_HDR + IFINFOMSG + 8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, b.length, true);
  dv.setUint16(4, RTM_GETLINK, true);
  dv.setUint16(6, NLM_F_REQUEST, true);
  dv.setUint32(8, 1, true); // sequence
  dv.setInt32(NLMSG_HDR + 4, ref.ifIndex, true);
  dv.setUint16(NLMSG_HDR + IFINFOMSG, 8, true);
  dv.setUint16(NLMSG_HDR + IFINFOMSG + 2, IFLA_TARGET_NETNSID, true);
  dv.setInt32(NLMSG_HDR + IFINFOMSG + 4, ref.nsid, true);
  return b;
}

/** The IFLA_ADDRESS of an RTM_NEWLINK reply of `n` bytes, when it is a 6-byte MAC. */
export function macOfLinkReply(b: Uint8Array, n: number): Uint8Array | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, n);
  if (n < NLMSG_HDR + IFINFOMSG || dv.getUint16(4, true) !== RTM_NEWLINK) return undefined;
  const end = Math.min(n, dv.getUint32(0, true));
  for (let o = NLMSG_HDR + IFINFOMSG; o + 4 <= end;) {
    const len = dv.getUint16(o, true);
    if (len < 4 || o + len > end) return undefined;
    if (dv.getUint16(o + 2, true) === IFLA_ADDRESS) return len === 10 ? b.slice(o + 4, o + 10) : undefined;
    o += (len + 3) & ~3;
  }
  return undefined;
}

/**
 * The MAC of the peer `ref`, or undefined when the kernel does not say (no such device, no
 * permission in the peer's namespace, a kernel without IFLA_TARGET_NETNSID). Rtnetlink answers a
 * request while it is being sent, so the reply is read without waiting.
 */
export function peerMac(libc: Libc, ref: VethPeerRef): Uint8Array | undefined {
  const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return undefined;
  try {
    const req = request(ref);
    if (libc.write(fd, req, req.length) !== req.length) return undefined;
    const buf = new Uint8Array(16384);
    const n = Number(libc.read(fd, buf, buf.length));
    if (n < NLMSG_HDR || new DataView(buf.buffer).getUint16(4, true) === NLMSG_ERROR) return undefined;
    return macOfLinkReply(buf, n);
  } finally {
    libc.close(fd);
  }
}

/**
 * Whether `dev`'s egress is plain: only its root `noqueue` (a veth's default) in `tc -j qdisc`.
 * Delivery into the peer skips the device's transmit, so a shaping qdisc or tc egress filters
 * (a clsact qdisc) on it would be skipped too; with either, frames go out the usual way.
 */
export function plainEgress(qdiscs: unknown, dev: string): boolean {
  if (!Array.isArray(qdiscs)) return false;
  return (qdiscs as Array<Record<string, unknown>>).every((q) => q.dev !== dev || q.kind === 'noqueue');
}
