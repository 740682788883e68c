// The direct-routing fast path, hand-assembled (no clang or libbpf at run time). For a frame of an
// offloaded flow it does what the user-space engine does for an established DR connection —
// decrement the TTL, rewrite the Ethernet addresses, send it out of the real server's interface —
// and anything it is not sure about goes to user space, which then decides as usual.
//
// One decision, two hooks (ADR 0005):
//  - 'xdp': an XDP program (generic or native);
//  - 'tc':  a tcx ingress program (SCHED_CLS) doing the same on the skb, so veth and other skb
//           paths forward without generic XDP's copy of every frame into a fresh buffer. The
//           packet plane's receive sockets are then bound to their protocols instead of being
//           ETH_P_ALL taps: a tap sees a frame before tc ingress does, a bound socket only after.
// The flow map's key and value layouts are defined here and written by fast-path.ts.
import { ETH_P_IP } from '../../../core/packet/frame.js';
import { Asm, FP, HOST_LE, net16 } from './asm.js';

export type ProgramHook = 'xdp' | 'tc';

/** Flow map key: saddr[4] daddr[4] sport[2] dport[2] (network order, as in the headers), proto u8, 3 zero bytes. */
export const KEY_SIZE = 16;
/**
 * Flow map value: packets u64, bytes u64, out ifindex u32, dst MAC, src MAC, MTU u16 (host order),
 * delivery u8 (tc only: V_DELIVER_PEER), 5 zero bytes.
 */
export const VALUE_SIZE = 40;
export const V_PACKETS = 0, V_BYTES = 8, V_IFINDEX = 16, V_DST_MAC = 20, V_SRC_MAC = 26, V_MTU = 32, V_DELIVERY = 34;
/**
 * Delivery: the out interface is a veth whose peer, in another namespace, is the next hop itself,
 * so the frame goes straight into the peer's receive path (bpf_redirect_peer) instead of through
 * the veth's transmit and the receiving CPU's backlog queue (ADR 0005, "Delivery to a veth peer").
 */
export const V_DELIVER_PEER = 1;

// Packet offsets: Ethernet header 14 bytes, then an IPv4 header without options (20 bytes).
const ETH_TYPE = 12, IP = 14, IP_LEN = 20;
const IP_VER_IHL = IP + 0, IP_FRAG = IP + 6, IP_TTL = IP + 8, IP_PROTO = IP + 9, IP_CSUM = IP + 10, IP_SADDR = IP + 12;
const L4 = IP + IP_LEN;
const TCP_FLAGS = L4 + 13, UDP_END = L4 + 8, TCP_END = L4 + 20;
const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04;

// Context fields: struct xdp_md {data, data_end}; struct __sk_buff {len @0, pkt_type @4, vlan_present @20, data @76, data_end @80}.
const XDP_DATA = 0, XDP_DATA_END = 4;
const SKB_LEN = 0, SKB_PKT_TYPE = 4, SKB_VLAN_PRESENT = 20, SKB_DATA = 76, SKB_DATA_END = 80;
const PACKET_HOST = 0;

// Helper ids (enum bpf_func_id).
const BPF_FUNC_MAP_LOOKUP_ELEM = 1, BPF_FUNC_REDIRECT = 23, BPF_FUNC_SKB_PULL_DATA = 39, BPF_FUNC_REDIRECT_PEER = 155;
/** What each hook returns for "not mine": XDP_PASS; TCX_NEXT (TC_ACT_UNSPEC: later programs, then the stack). */
const PASS: Record<ProgramHook, number> = { xdp: 2, tc: -1 };

// The key is built on the stack (helpers read map keys from the stack, never from the packet);
// below it, tc keeps the frame's packet type.
const KEY = -KEY_SIZE;
const PKT_TYPE = KEY - 8;

/** Assembles the forwarding program for `hook` against the flow map `mapFd`; returns `struct bpf_insn[]`. */
export function drProgram(mapFd: number, hook: ProgramHook): Uint8Array {
  const a = new Asm();
  // r6 = ctx, r7 = the frame's first byte, r8 = data_end, r9 = the frame's length; all
  // callee-saved, so they survive helper calls.
  a.movReg(6, 1);
  if (hook === 'xdp') {
    a.ldx('w', 7, 6, XDP_DATA).ldx('w', 8, 6, XDP_DATA_END)
      .movReg(9, 8).subReg(9, 7);
  } else {
    // tc ingress sees the frame from its Ethernet header on. A VLAN tag the kernel already took
    // off the frame (XDP sees it in the data instead): the out interface would lose it, so tagged
    // frames stay user space's.
    a.ldx('w', 7, 6, SKB_DATA).ldx('w', 8, 6, SKB_DATA_END).ldx('w', 9, 6, SKB_LEN)
      .ldx('w', 1, 6, SKB_VLAN_PRESENT).jneImm(1, 0, 'pass')
      // Kept for step 7 (ctx is gone by then): only a frame received as ours may enter a peer.
      .ldx('w', 1, 6, SKB_PKT_TYPE).stx('w', FP, PKT_TYPE, 1);
  }

  // 1. EtherType IPv4 (a VLAN tag in the frame makes it 0x8100: user space).
  bounds(a, IP);
  a.ldx('h', 1, 7, ETH_TYPE).jneImm(1, net16(ETH_P_IP), 'pass');
  if (hook === 'tc') {
    // Headers beyond the skb's linear part are pulled in (a paged skb may hold them in a fragment),
    // at most the frame's length (asking for more fails), so both hooks decide on the same bytes.
    // The helper invalidates packet pointers, so they are loaded again; the length does not change.
    a.movReg(1, 8).subReg(1, 7)
      .jgeImm(1, TCP_END, 'linear')
      .jgeReg(1, 9, 'linear') // the whole frame is linear (and short)
      .movImm(2, TCP_END).jgeImm(9, TCP_END, 'pull').movReg(2, 9).label('pull')
      .movReg(1, 6).call(BPF_FUNC_SKB_PULL_DATA)
      .ldx('w', 7, 6, SKB_DATA).ldx('w', 8, 6, SKB_DATA_END)
      .label('linear');
  }
  bounds(a, L4);
  // Version 4, IHL 5: options would move the L4 header, and are rare enough to leave to user space.
  a.ldx('b', 1, 7, IP_VER_IHL).jneImm(1, 0x45, 'pass')
    // MF or a fragment offset: only the first fragment has ports, so fragments are user space's.
    .ldx('h', 1, 7, IP_FRAG).andImm(1, net16(0x3fff)).jneImm(1, 0, 'pass');

  // 2. TCP or UDP with the whole L4 header present; TCP SYN/FIN/RST change connection state, which
  // only the engine tracks, so they always go up.
  a.ldx('b', 1, 7, IP_PROTO)
    .jeqImm(1, 17, 'udp')
    .jneImm(1, 6, 'pass');
  bounds(a, TCP_END);
  a.ldx('b', 1, 7, TCP_FLAGS).andImm(1, TCP_FIN | TCP_SYN | TCP_RST).jneImm(1, 0, 'pass')
    .ja('key')
    .label('udp');
  bounds(a, UDP_END);

  // 3. Key = addresses and ports copied as they are (network order), proto, zero padding; a stored
  // zero-extended byte writes the proto and the three pad bytes at once. Lookup; a miss is a flow
  // the engine has not offloaded (new, or not DR).
  a.label('key')
    .ldx('w', 1, 7, IP_SADDR).stx('w', FP, KEY, 1)
    .ldx('w', 1, 7, IP_SADDR + 4).stx('w', FP, KEY + 4, 1)
    .ldx('w', 1, 7, L4).stx('w', FP, KEY + 8, 1)
    .ldx('b', 1, 7, IP_PROTO);
  if (HOST_LE) a.stx('w', FP, KEY + 12, 1);
  else a.st('w', FP, KEY + 12, 0).stx('b', FP, KEY + 12, 1);
  a.ldMapFd(1, mapFd)
    .movReg(2, FP).addImm(2, KEY)
    .call(BPF_FUNC_MAP_LOOKUP_ELEM)
    .jeqImm(0, 0, 'pass')
    .movReg(6, 0); // r6 = the entry (ctx is no longer needed)

  // 4. TTL 0 or 1 expires here: user space sends ICMP time exceeded. A packet bigger than the out
  // MTU: user space sends frag-needed (or fragments). r9 = IP length as the wire carried it.
  a.ldx('b', 1, 7, IP_TTL).jleImm(1, 1, 'pass')
    .addImm(9, -IP)
    .ldx('h', 2, 6, V_MTU)
    .jgtReg(9, 2, 'pass');

  // 5. TTL - 1, and the header checksum patched incrementally (RFC 1624, as the kernel's
  // ip_decrease_ttl): the TTL is the high byte of the 16-bit word at IP offset 8, so the checksum
  // grows by 0x0100 (in network order) with the end-around carry folded back in. The header's
  // ones'-complement sum is unchanged, so an skb's CHECKSUM_COMPLETE stays valid.
  a.addImm(1, -1).stx('b', 7, IP_TTL, 1)
    .ldx('h', 1, 7, IP_CSUM).addImm(1, net16(0x0100))
    .jltImm(1, 0xffff, 'csum')
    .addImm(1, 1)
    .label('csum')
    .stx('h', 7, IP_CSUM, 1); // the store keeps the low 16 bits

  // 6. Counters: other CPUs forward the same flow, hence atomic adds.
  a.movImm(1, 1).atomicAdd64(6, V_PACKETS, 1)
    .atomicAdd64(6, V_BYTES, 9);

  // 7. Next hop = the real server's MAC, source = our out interface's MAC; then out of that
  // interface (XDP_REDIRECT, or TC_ACT_REDIRECT to its egress), or, on tc and when the entry says
  // so, into the receive path of that veth's peer (TC_ACT_REDIRECT as well).
  a.ldx('w', 1, 6, V_DST_MAC).stx('w', 7, 0, 1)
    .ldx('h', 1, 6, V_DST_MAC + 4).stx('h', 7, 4, 1)
    .ldx('h', 1, 6, V_SRC_MAC).stx('h', 7, 6, 1)
    .ldx('w', 1, 6, V_SRC_MAC + 2).stx('w', 7, 8, 1);
  if (hook === 'tc') {
    // The peer's receive starts where l0's left off and keeps the packet type it set (kernels
    // before about 6.15 do not scrub it), so a frame not addressed to us (broadcast, another
    // host's) goes out the usual way, where the peer's Ethernet layer sorts it.
    a.ldx('b', 2, 6, V_DELIVERY).jneImm(2, V_DELIVER_PEER, 'egress')
      .ldx('w', 2, FP, PKT_TYPE).jneImm(2, PACKET_HOST, 'egress')
      .ldx('w', 1, 6, V_IFINDEX).movImm(2, 0)
      .call(BPF_FUNC_REDIRECT_PEER).exit()
      .label('egress');
  }
  a.ldx('w', 1, 6, V_IFINDEX).movImm(2, 0)
    .call(BPF_FUNC_REDIRECT)
    .exit();

  a.label('pass').movImm(0, PASS[hook]).exit();
  return a.assemble();
}

/** Direct packet access: `end` bytes of the frame present, or not ours. */
function bounds(a: Asm, end: number): void {
  a.movReg(1, 7).addImm(1, end)
    .jgtReg(1, 8, 'pass');
}
