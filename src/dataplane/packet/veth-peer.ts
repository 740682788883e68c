// Which of the director's interfaces are veths whose peer, in another network namespace, may take
// the fast path's frames straight into its receive path (ADR 0005, "Delivery to a veth peer").
// Only where the frame then meets what it would have met through the veth: the veth is up and has
// no egress processing of its own (a qdisc other than noqueue, a clsact for tc filters, a tcx egress
// program, an nftables egress chain), and the peer runs no XDP program (the veth's transmit would
// have run it) and takes frames as large as the veth's MTU. `ip` cannot show a device of another
// namespace by its namespace id, so the peer comes from one rtnetlink request (RTM_GETLINK with
// IFLA_TARGET_NETNSID, Linux 4.20+) through libc.
import { type Libc, openLibc } from './ffi.js';
import type { InterfaceFact } from './net-context.js';
import { ATTR_SIZE, BPF_PROG_QUERY, BPF_TCX_EGRESS, type BpfSys, openBpfSys } from './xdp/bpf-sys.js';

/** A veth as `ip -j -d addr` shows it: its peer's namespace id (as this namespace numbers it) and index there. */
export interface VethPeerRef {
  readonly nsid: number;
  readonly ifIndex: number;
}

/** What the kernel says of a veth's peer. */
export interface PeerLink {
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** An XDP program (native or generic) is attached to the peer. */
  readonly xdp: boolean;
}

const AF_NETLINK = 16, SOCK_RAW = 3, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000, NETLINK_ROUTE = 0;
const RTM_GETLINK = 18, RTM_NEWLINK = 16, NLMSG_ERROR = 2, NLM_F_REQUEST = 1;
const IFLA_ADDRESS = 1, IFLA_MTU = 4, IFLA_XDP = 43, IFLA_TARGET_NETNSID = 46;
const IFLA_XDP_ATTACHED = 2;
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

/** Calls `each(type, offset, length)` for the attributes in [from, end); false when one is malformed. */
function attributes(dv: DataView, from: number, end: number, each: (type: number, off: number, len: number) => void): boolean {
  for (let o = from; o + 4 <= end;) {
    const len = dv.getUint16(o, true);
    if (len < 4 || o + len > end) return false;
    each(dv.getUint16(o + 2, true) & 0x3fff, o + 4, len - 4); // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
    o += (len + 3) & ~3;
  }
  return true;
}

/** The peer of an RTM_NEWLINK reply (its first `n` bytes): an Ethernet MAC, the MTU, whether XDP is attached. */
export function parseLinkReply(b: Uint8Array, n: number): PeerLink | undefined {
  n = Math.max(0, Math.min(n, b.byteLength));
  if (n < NLMSG_HDR + IFINFOMSG) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, n);
  if (dv.getUint16(4, true) !== RTM_NEWLINK) return undefined;
  const end = Math.min(n, dv.getUint32(0, true));
  let mac: Uint8Array | undefined;
  let mtu: number | undefined;
  let xdp = false;
  const ok = attributes(dv, NLMSG_HDR + IFINFOMSG, end, (type, off, len) => {
    if (type === IFLA_ADDRESS && len === 6) mac = b.slice(off, off + 6);
    else if (type === IFLA_MTU && len === 4) mtu = dv.getUint32(off, true);
    else if (type === IFLA_XDP) {
      // Nested: IFLA_XDP_ATTACHED is XDP_ATTACHED_NONE (0) or a mode. Unreadable counts as attached.
      let attached = false;
      const readable = attributes(dv, off, off + len, (t, o, l) => { if (t === IFLA_XDP_ATTACHED && l >= 1 && dv.getUint8(o) !== 0) attached = true; });
      xdp = xdp || attached || !readable;
    }
  });
  return ok && mac && mtu !== undefined ? { mac, mtu, xdp } : undefined;
}

/**
 * The peer `ref` as the kernel describes it, or undefined when it does not say (no such device, no
 * permission in the peer's namespace, a kernel without IFLA_TARGET_NETNSID). Rtnetlink answers a
 * request while it is being sent, so the reply is read without waiting.
 */
export function queryPeer(libc: Libc, ref: VethPeerRef): PeerLink | undefined {
  const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return undefined;
  try {
    const req = request(ref);
    if (Number(libc.write(fd, req, req.length)) !== req.length) return undefined;
    const buf = new Uint8Array(16384);
    const n = Number(libc.read(fd, buf, buf.length));
    if (n < NLMSG_HDR || new DataView(buf.buffer).getUint16(4, true) === NLMSG_ERROR) return undefined;
    return parseLinkReply(buf, n);
  } finally {
    libc.close(fd);
  }
}

/** Programs attached to `ifIndex`'s tcx egress hook (BPF_PROG_QUERY), or -errno. */
export function tcxEgressPrograms(bpf: BpfSys, ifIndex: number): number {
  const attr = bpf.alloc(ATTR_SIZE);
  try {
    const dv = new DataView(bpf.view(attr, ATTR_SIZE));
    dv.setUint32(0, ifIndex, true); // target_ifindex
    dv.setUint32(4, BPF_TCX_EGRESS, true);
    const r = bpf.bpf(BPF_PROG_QUERY, attr);
    return r < 0 ? r : dv.getUint32(24, true); // prog_cnt
  } finally {
    bpf.free(attr);
  }
}

/** Whether `dev` has qdiscs of its own in `tc -j qdisc show`: anything but the root `noqueue` (a clsact carries tc filters). */
export function hasQdiscs(qdiscs: unknown, dev: string): boolean {
  if (!Array.isArray(qdiscs)) return true;
  return (qdiscs as Array<Record<string, unknown> | null>).some((q) => q?.dev === dev && q.kind !== 'noqueue');
}

/**
 * The devices named by netdev egress chains in `nft list chains` text (`nft -j` before 1.0.7 leaves
 * the device out): `hook egress device "X"`, or `devices = { X, Y }` (nft prints a set of devices
 * unquoted; quotes are taken off too).
 */
export function nftEgressDevices(listing: string): Set<string> {
  const out = new Set<string>();
  for (const m of listing.matchAll(/hook egress (?:device "([^"]+)"|devices = \{([^}]*)\})/g)) {
    if (m[1] !== undefined) out.add(m[1]);
    for (const d of (m[2] ?? '').split(',')) {
      const name = d.trim().replace(/^"|"$/g, '');
      if (name) out.add(name);
    }
  }
  return out;
}

/** Bound once (module state: each thread that gathers facts binds its own). */
let probeLibs: { libc: Libc; bpf: BpfSys } | undefined;
/** The last answer per veth (`ifIndex:nsid:peerIndex`): kept when a probe fails, so a failure flushes nothing. */
let lastPeerMacs = new Map<string, Uint8Array | undefined>();

/**
 * The peers' MACs of the veths that may deliver into their peer (veth-peer.ts): up, no egress
 * processing of their own, a peer without XDP that takes the veth's MTU. When a probe fails, the
 * veth keeps its previous answer (none the first time): frames then leave through the veth.
 */
export async function withPeerMacs(interfaces: InterfaceFact[], run: (cmd: 'tc' | 'nft', args: string[]) => Promise<string>): Promise<InterfaceFact[]> {
  if (!interfaces.some((i) => i.vethPeer)) return interfaces;
  const key = (i: InterfaceFact) => `${i.ifIndex}:${i.vethPeer!.nsid}:${i.vethPeer!.ifIndex}`;
  let decide: (i: InterfaceFact) => Uint8Array | undefined;
  try {
    const [qdiscText, chains] = await Promise.all([run('tc', ['-j', 'qdisc', 'show']), run('nft', ['list', 'chains'])]);
    const qdiscs: unknown = JSON.parse(qdiscText);
    probeLibs ??= { libc: openLibc(), bpf: openBpfSys() };
    const { libc, bpf } = probeLibs;
    const egressChains = nftEgressDevices(chains);
    decide = (i) => {
      if (!i.up || hasQdiscs(qdiscs, i.name) || egressChains.has(i.name)) return undefined;
      const tcx = tcxEgressPrograms(bpf, i.ifIndex);
      const peer = tcx === 0 ? queryPeer(libc, i.vethPeer!) : undefined;
      if (tcx < 0 || (tcx === 0 && !peer)) return lastPeerMacs.get(key(i)); // the probe failed: as before
      return peer && !peer.xdp && peer.mtu >= i.mtu ? peer.mac : undefined;
    };
  } catch {
    decide = (i) => lastPeerMacs.get(key(i));
  }
  const next = new Map<string, Uint8Array | undefined>();
  const out = interfaces.map((i) => {
    if (!i.vethPeer) return i;
    let mac: Uint8Array | undefined;
    try {
      mac = decide(i);
    } catch {
      mac = lastPeerMacs.get(key(i)); // a probe that threw (memory, koffi) changes nothing either
    }
    next.set(key(i), mac);
    return mac ? { ...i, peerMac: mac } : i;
  });
  lastPeerMacs = next;
  return out;
}
