// How several forwarding workers share an interface's frames (docs/adr/0003-packet-plane.md,
// "Several workers"): one PACKET_FANOUT group per ring, steered by a classic BPF program that
// sends every packet of a connection, both ways, to the worker that owns it, and every
// connection of a client to the same worker (each worker keeps its own persistence templates:
// the kernel's flow hash would let a persistent service (-p) send one client to two real
// servers). The program classifies by the table's addresses (steeringProgram):
//  - to a VIP: the client's packet, by its source;
//  - to a full-NAT local address: a real server's reply, by its destination port, which the
//    owning worker allocated from its share of the ports (FullNatPool's share: port % workers);
//  - to anything else: a masq real server's reply to the client, by its destination.
// An ICMP error goes by the packet it quotes, which went the other way. An address that is both a
// VIP and a full-NAT address is told apart by the port: in the full-NAT range, a reply. IPv6
// packets are read without extension headers (a fragment goes by whatever lies at the port's
// place). This module only builds the program; af-packet.ts gives it to the groups,
// forwarder-control.ts rebuilds it as the VIPs change.
import { type IpAddress, ipKey } from '../../core/net/addr.js';
import { ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMP, IPPROTO_ICMPV6, rd32 } from '../../core/packet/frame.js';
import { ICMP4_ERROR_TYPES, ICMPV6_FIRST_INFO_TYPE } from '../../core/packet/l4.js';

/**
 * Classic BPF opcodes (linux/filter.h). ABS loads are relative to skb->data, which is the
 * network header when a received frame reaches the fanout (PACKET_FANOUT_FLAG_IGNORE_OUTGOING
 * keeps outgoing frames, whose data starts at the MAC header, out of the group from Linux 6.2;
 * before, the forwarder drops them after whatever member they reached); unlike SKF_NET_OFF
 * loads, these also read headers that a driver left outside the buffer's linear part. IND loads
 * add X.
 */
const LD_B_ABS = 0x30;
const LD_H_ABS = 0x28;
const LD_W_ABS = 0x20;
const LD_H_IND = 0x48;
const LD_W_IND = 0x40;
const LD_MEM = 0x60;
const LDX_IMM = 0x01;
const LD_IMM = 0x00;
const LDX_B_MSH = 0xb1; // X = 4 * (P[k] & 0x0f): an IPv4 header's length
const ST = 0x02;
const LDX_MEM = 0x61;
const TXA = 0x87;
const ADD_K = 0x04;
const AND_K = 0x54;
const MUL_K = 0x24;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JGT_K = 0x25;
const JA = 0x05;
const TAX = 0x07;
const RSH_K = 0x74;
const XOR_X = 0xac;
const RET_A = 0x16;
const RET_K = 0x06;
const SKF_AD_PROTOCOL = 0xfffff000; // SKF_AD_OFF + 0: ntohs(skb->protocol)
/** The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
export const MAX_INSNS = 4096;
/** Knuth's multiplicative constant: spreads any change of the address over the high bits, folded down after. */
export const FANOUT_MULTIPLIER = 0x9e3779b1;

/**
 * One instruction. A conditional jump names its targets by label, or by a relative count of
 * instructions to skip (fall-through: the next one, 0).
 */
export interface Insn { readonly code: number; readonly k?: number; readonly jt?: string | number; readonly jf?: string | number; readonly label?: string }

/** What the program steers by: the table's VIPs and the full-NAT local addresses. */
export interface SteeringFacts {
  /** 'any': treat every destination as a VIP (steer by the client's source alone; no NAT replies). */
  readonly vips: readonly IpAddress[] | 'any';
  readonly fullnatAddresses: readonly IpAddress[];
  /**
   * The full-NAT local port range (default 1024-65535, FullNatPool's): it tells a reply from a
   * client's packet when a VIP is also a full-NAT address.
   */
  readonly fullnatPorts?: { readonly min: number; readonly max: number };
}

/**
 * Scratch memory: what to hash when the candidate is a VIP, where the port is when it is a local
 * full-NAT address (read only then: a short packet fails no other path), and what to hash
 * otherwise (IPv6: the membership test clobbers A).
 */
const M_OTHER = 0;
const M_PORT_AT = 1;
const M_CANDIDATE6 = 2;

/** A = the XOR of the four 32-bit words at `off` (an IPv6 address); clobbers X. */
const xor4 = (off: number, label?: string): Insn[] => [
  { label, code: LD_W_ABS, k: off }, { code: TAX },
  { code: LD_W_ABS, k: off + 4 }, { code: XOR_X }, { code: TAX },
  { code: LD_W_ABS, k: off + 8 }, { code: XOR_X }, { code: TAX },
  { code: LD_W_ABS, k: off + 12 }, { code: XOR_X },
];


/** A is one of `addrs` (IPv4): jump to `to`. Two instructions each, so no conditional jump is long. */
const anyOf4 = (addrs: readonly IpAddress[], to: string): Insn[] =>
  addrs.filter((a) => a.family === 4).flatMap((a): Insn[] => [{ code: JEQ_K, k: rd32(a.bytes, 0), jf: 1 }, { code: JA, jt: to }]);

/** The IPv6 address at X is one of `addrs`: jump to `to` (clobbers A). */
const anyOf6 = (addrs: readonly IpAddress[], to: string): Insn[] =>
  addrs.filter((a) => a.family === 6).flatMap((a): Insn[] => [
    { code: LD_W_IND, k: 0 }, { code: JEQ_K, k: rd32(a.bytes, 0), jf: 7 },
    { code: LD_W_IND, k: 4 }, { code: JEQ_K, k: rd32(a.bytes, 4), jf: 5 },
    { code: LD_W_IND, k: 8 }, { code: JEQ_K, k: rd32(a.bytes, 8), jf: 3 },
    { code: LD_W_IND, k: 12 }, { code: JEQ_K, k: rd32(a.bytes, 12), jf: 1 },
    { code: JA, jt: to },
  ]);

/**
 * The steering program. Each path picks a candidate address (the destination, or the quoted
 * packet's source), keeps the alternatives in scratch memory, and one membership test per family
 * decides: a VIP means the other address is the client's; a local full-NAT address means the
 * port names the worker; anything else is the client's own address. The kernel takes the result
 * modulo the group's size. ARP and anything else go to the first worker.
 *
 * ICMP errors are read only behind an IPv4 header of 20 bytes or an IPv6 header without
 * extension headers (the usual case); any other goes as a plain packet.
 */
function steering(f: SteeringFacts): Insn[] {
  const Q4 = 20 + 8; // the quoted IPv4 header
  const Q6 = 40 + 8; // the quoted IPv6 header
  // An address that is both a VIP and a full-NAT address: its port says which (useRange).
  const pool = new Set(f.fullnatAddresses.map(ipKey));
  const vips = f.vips === 'any' ? [] : f.vips;
  const both = vips.filter((a) => pool.has(ipKey(a)));
  const bothKeys = new Set(both.map(ipKey));
  const vipsOnly = vips.filter((a) => !bothKeys.has(ipKey(a)));
  const poolOnly = f.fullnatAddresses.filter((a) => !bothKeys.has(ipKey(a)));
  const member = (anyOf: typeof anyOf4): Insn[] => f.vips === 'any' ? [{ code: JA, jt: 'useOther' }]
    : [...anyOf(both, 'useRange'), ...anyOf(vipsOnly, 'useOther'), ...anyOf(poolOnly, 'usePort')];
  const ports = f.fullnatPorts ?? { min: 1024, max: 65535 };
  return [
    { code: LD_H_ABS, k: SKF_AD_PROTOCOL },
    // Long jumps are JA: a conditional one reaches 255 instructions at most.
    { code: JEQ_K, k: ETH_P_IPV6, jf: 1 },
    { code: JA, jt: 'v6' },
    { code: JEQ_K, k: ETH_P_IP, jf: 1 },
    { code: JA, jt: 'v4' },
    { code: JA, jt: 'other' },
    // IPv4
    { label: 'v4', code: LD_B_ABS, k: 9 }, // protocol
    { code: JEQ_K, k: IPPROTO_ICMP, jf: 'direct4' },
    { code: LD_B_ABS, k: 0 },
    { code: AND_K, k: 0x0f },
    { code: JEQ_K, k: 5, jf: 'direct4' }, // no IP options
    { code: LD_B_ABS, k: 20 }, // ICMP type: the errors the engine relates to connections
    ...ICMP4_ERROR_TYPES.map((t, i, all): Insn => ({ code: JEQ_K, k: t, jt: 'quoted4', jf: i === all.length - 1 ? 'direct4' : undefined })),
    { label: 'quoted4', code: LD_W_ABS, k: Q4 + 16 }, { code: ST, k: M_OTHER }, // the quoted destination
    { code: LDX_B_MSH, k: Q4 }, { code: TXA }, { code: ADD_K, k: Q4 }, { code: ST, k: M_PORT_AT }, // its source port
    { code: LD_W_ABS, k: Q4 + 12 }, // candidate: the quoted source
    { code: JA, jt: 'member4' },
    { label: 'direct4', code: LD_W_ABS, k: 12 }, { code: ST, k: M_OTHER }, // the source
    { code: LDX_B_MSH, k: 0 }, { code: TXA }, { code: ADD_K, k: 2 }, { code: ST, k: M_PORT_AT }, // the destination port
    { code: LD_W_ABS, k: 16 }, // candidate: the destination
    { label: 'member4', code: JA }, // A is the candidate through the test
    ...member(anyOf4),
    { code: JA, jt: 'hash' },
    // IPv6
    { label: 'v6', code: LD_B_ABS, k: 6 }, // next header
    { code: JEQ_K, k: IPPROTO_ICMPV6, jf: 'direct6' },
    { code: LD_B_ABS, k: 40 }, // ICMPv6 type: the errors come before the informational ones
    { code: JGE_K, k: ICMPV6_FIRST_INFO_TYPE, jt: 'direct6' },
    ...xor4(Q6 + 24), { code: ST, k: M_OTHER }, // the quoted destination
    { code: LD_IMM, k: Q6 + 40 }, { code: ST, k: M_PORT_AT }, // its source port
    ...xor4(Q6 + 8), { code: ST, k: M_CANDIDATE6 },
    { code: LDX_IMM, k: Q6 + 8 }, // candidate: the quoted source
    { code: JA, jt: 'member6' },
    ...xor4(8, 'direct6'), { code: ST, k: M_OTHER }, // the source
    { code: LD_IMM, k: 40 + 2 }, { code: ST, k: M_PORT_AT }, // the destination port
    ...xor4(24), { code: ST, k: M_CANDIDATE6 },
    { code: LDX_IMM, k: 24 }, // candidate: the destination
    { label: 'member6', code: JA },
    ...member(anyOf6),
    { code: LD_MEM, k: M_CANDIDATE6 },
    { code: JA, jt: 'hash' },
    // A port in the full-NAT range: a reply to that local port; else a client's packet to the VIP.
    { label: 'useRange', code: LDX_MEM, k: M_PORT_AT },
    { code: LD_H_IND, k: 0 },
    { code: JGE_K, k: ports.min, jf: 'useOther' },
    { code: JGT_K, k: ports.max, jt: 'useOther' },
    { code: RET_A },
    { label: 'useOther', code: LD_MEM, k: M_OTHER },
    { code: JA, jt: 'hash' },
    { label: 'usePort', code: LDX_MEM, k: M_PORT_AT },
    { code: LD_H_IND, k: 0 },
    { code: RET_A },
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
}

/** struct sock_filter[] of a program, its jump labels resolved to offsets. */
export function assemble(insns: readonly Insn[]): Uint8Array {
  const at = new Map<string, number>();
  insns.forEach((x, i) => {
    if (!x.label) return;
    if (at.has(x.label)) throw new Error(`cBPF: label '${x.label}' twice`);
    at.set(x.label, i);
  });
  const rel = (from: number, to: string | number | undefined): number => {
    if (to === undefined) return 0;
    if (typeof to === 'number') return to;
    const where = at.get(to);
    if (where === undefined) throw new Error(`cBPF: no label '${to}'`);
    if (where <= from) throw new Error(`cBPF: jump back to '${to}' at instruction ${from} (classic BPF jumps forward only)`);
    return where - from - 1;
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

/** A steering program: the full one when it fits the kernel's limit, else the client-source one. */
export interface SteeringProgram {
  readonly program: Uint8Array;
  /** False when the addresses did not fit (MAX_INSNS): NAT replies are then not steered. */
  readonly complete: boolean;
}

/** The program for these facts (see steering). */
export function steeringProgram(f: SteeringFacts): SteeringProgram {
  const insns = steering(f);
  if (insns.length <= MAX_INSNS) return { program: assemble(insns), complete: true };
  return { program: assemble(steering({ vips: 'any', fullnatAddresses: [] })), complete: false };
}
