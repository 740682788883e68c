// How several forwarding workers share an interface's frames (docs/adr/0003-packet-plane.md,
// "Several workers"): one PACKET_FANOUT group per ring, steered by a classic BPF program that
// hashes the client's address, so every connection of a client lands on the same worker. The
// kernel's flow hash (PACKET_FANOUT_HASH) would spread a client's connections over the workers,
// and each worker keeps its own persistence templates: a persistent service (-p) could then send
// one client to two real servers. Direct routing and tunnel directors see the client's packets
// alone (replies bypass them), and ICMP errors about the replies, which quote the client. This
// module only builds the program; af-packet.ts gives it to the groups.
import { ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMP, IPPROTO_ICMPV6 } from '../../core/packet/frame.js';
import { ICMP4_ERROR_TYPES, ICMPV6_FIRST_INFO_TYPE } from '../../core/packet/l4.js';

/**
 * Classic BPF opcodes (linux/filter.h). Loads are relative to skb->data, which is the network
 * header when a received frame reaches the fanout (outgoing frames are kept out of the group:
 * PACKET_FANOUT_FLAG_IGNORE_OUTGOING); unlike SKF_NET_OFF loads, these also read headers that
 * a driver left outside the buffer's linear part.
 */
const LD_B_ABS = 0x30;
const LD_H_ABS = 0x28;
const LD_W_ABS = 0x20;
const AND_K = 0x54;
const MUL_K = 0x24;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JA = 0x05;
const TAX = 0x07;
const RSH_K = 0x74;
const XOR_X = 0xac;
const RET_A = 0x16;
const RET_K = 0x06;
const SKF_AD_PROTOCOL = 0xfffff000; // SKF_AD_OFF + 0: ntohs(skb->protocol)
/** Knuth's multiplicative constant: spreads any change of the address over the high bits, folded down after. */
export const FANOUT_MULTIPLIER = 0x9e3779b1;

/** One instruction; a conditional jump names its targets by label (fall-through: the next one). */
interface Insn { readonly code: number; readonly k?: number; readonly jt?: string; readonly jf?: string; readonly label?: string }

/** A = the XOR of the four 32-bit words at `off` (an IPv6 address). */
const xor4 = (off: number, label?: string): Insn[] => [
  { label, code: LD_W_ABS, k: off }, { code: TAX },
  { code: LD_W_ABS, k: off + 4 }, { code: XOR_X }, { code: TAX },
  { code: LD_W_ABS, k: off + 8 }, { code: XOR_X }, { code: TAX },
  { code: LD_W_ABS, k: off + 12 }, { code: XOR_X },
];

/**
 * The program: a hash of the client's address (the kernel takes the result modulo the group's
 * size). For a packet from the client that is its source. For an ICMP error about a reply that
 * went to the client (a router's "fragmentation needed" on the path back, which the engine
 * passes on to the real server, spec §2.6) it is the destination of the quoted packet, so the
 * error reaches the worker that owns the connection (outer IPv4 header of 20 bytes, IPv6 without
 * extension headers: the usual case for such errors; any other goes by its source). ARP and
 * anything else go to the first worker.
 */
const CLIENT_ADDRESS_HASH: readonly Insn[] = [
  { code: LD_H_ABS, k: SKF_AD_PROTOCOL },
  { code: JEQ_K, k: ETH_P_IP, jt: 'v4' },
  { code: JEQ_K, k: ETH_P_IPV6, jt: 'v6', jf: 'other' },
  { label: 'v4', code: LD_B_ABS, k: 9 }, // protocol
  { code: JEQ_K, k: IPPROTO_ICMP, jf: 'src4' },
  { code: LD_B_ABS, k: 0 },
  { code: AND_K, k: 0x0f },
  { code: JEQ_K, k: 5, jf: 'src4' }, // no IP options
  { code: LD_B_ABS, k: 20 }, // ICMP type: the errors the engine relates to connections
  ...ICMP4_ERROR_TYPES.map((t, i, all): Insn => ({ code: JEQ_K, k: t, jt: 'quoted4', jf: i === all.length - 1 ? 'src4' : undefined })),
  { label: 'quoted4', code: LD_W_ABS, k: 20 + 8 + 16 },
  { code: JA, jt: 'hash' },
  { label: 'src4', code: LD_W_ABS, k: 12 },
  { code: JA, jt: 'hash' },
  { label: 'v6', code: LD_B_ABS, k: 6 }, // next header
  { code: JEQ_K, k: IPPROTO_ICMPV6, jf: 'src6' },
  { code: LD_B_ABS, k: 40 }, // ICMPv6 type: the errors come before the informational ones
  { code: JGE_K, k: ICMPV6_FIRST_INFO_TYPE, jt: 'src6' },
  ...xor4(40 + 8 + 24), // the quoted destination
  { code: JA, jt: 'hash' },
  ...xor4(8, 'src6'), // the source
  { label: 'hash', code: MUL_K, k: FANOUT_MULTIPLIER },
  { code: TAX },
  { code: RSH_K, k: 16 },
  { code: XOR_X },
  { code: TAX },
  { code: RSH_K, k: 8 },
  { code: XOR_X },
  { code: RET_A },
  { label: 'other', code: RET_K, k: 0 },
];

/** struct sock_filter[] of a program, its jump labels resolved to offsets. */
export function assemble(insns: readonly Insn[]): Uint8Array {
  const at = new Map<string, number>();
  insns.forEach((x, i) => {
    if (!x.label) return;
    if (at.has(x.label)) throw new Error(`cBPF: label '${x.label}' twice`);
    at.set(x.label, i);
  });
  const rel = (from: number, label: string | undefined): number => {
    if (label === undefined) return 0;
    const to = at.get(label);
    if (to === undefined) throw new Error(`cBPF: no label '${label}'`);
    if (to <= from) throw new Error(`cBPF: jump back to '${label}' at instruction ${from} (classic BPF jumps forward only)`);
    return to - from - 1;
  };
  const b = new Uint8Array(insns.length * 8);
  const dv = new DataView(b.buffer);
  insns.forEach((x, i) => {
    dv.setUint16(i * 8, x.code, true);
    if (x.code === JA) {
      dv.setUint32(i * 8 + 4, rel(i, x.jt), true);
      return;
    }
    const jt = rel(i, x.jt);
    const jf = rel(i, x.jf);
    if (jt > 255 || jf > 255) throw new Error(`cBPF: jump too far at instruction ${i}`);
    b[i * 8 + 2] = jt;
    b[i * 8 + 3] = jf;
    dv.setUint32(i * 8 + 4, x.k ?? 0, true);
  });
  return b;
}

export const CLIENT_ADDRESS_PROGRAM = assemble(CLIENT_ADDRESS_HASH);
