// How several forwarding workers share an interface's frames (docs/adr/0003-packet-plane.md,
// "Several workers"): one PACKET_FANOUT group per ring, steered by a classic BPF program that
// hashes the client's address, so every connection of a client lands on the same worker. The
// kernel's flow hash (PACKET_FANOUT_HASH) would spread a client's connections over the workers,
// and each worker keeps its own persistence templates: a persistent service (-p) could then send
// one client to two real servers. Only the frame's source is hashed: for direct routing and
// tunnels the director sees the client's packets alone (replies bypass it).
import { type Libc, check, fail } from './ffi.js';

/** Fanout modes and options (linux/if_packet.h). */
export const PACKET_FANOUT_CBPF = 6;
const SOL_PACKET = 263;
const PACKET_FANOUT_DATA = 22;

/** Classic BPF opcodes (linux/filter.h) and the loads relative to the network header or the skb. */
const LD_H_ABS = 0x28;
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JA = 0x05;
const TAX = 0x07;
const RSH_K = 0x74;
const XOR_X = 0xac;
const RET_A = 0x16;
const RET_K = 0x06;
const SKF_AD_PROTOCOL = 0xfffff000; // SKF_AD_OFF + 0: ntohs(skb->protocol)
const SKF_NET = (off: number) => (0xfff00000 + off) >>> 0; // SKF_NET_OFF + off

type Insn = readonly [code: number, jt: number, jf: number, k: number];

/**
 * The program: the IPv4 source address, or the last 32 bits of the IPv6 one, folded so that
 * every byte matters (the kernel takes the result modulo the group's size); ARP and anything else
 * go to the first worker.
 */
const CLIENT_ADDRESS_HASH: readonly Insn[] = [
  [LD_H_ABS, 0, 0, SKF_AD_PROTOCOL], // 0
  [JEQ_K, 1, 0, 0x0800], //             1: IPv4 -> 3
  [JEQ_K, 2, 10, 0x86dd], //            2: IPv6 -> 5, else -> 13
  [LD_W_ABS, 0, 0, SKF_NET(12)], //     3: IPv4 source
  [JA, 0, 0, 1], //                     4: -> 6
  [LD_W_ABS, 0, 0, SKF_NET(20)], //     5: IPv6 source, bytes 12..15
  [TAX, 0, 0, 0], //                    6: fold: a ^= a >> 16; a ^= a >> 8
  [RSH_K, 0, 0, 16],
  [XOR_X, 0, 0, 0],
  [TAX, 0, 0, 0],
  [RSH_K, 0, 0, 8],
  [XOR_X, 0, 0, 0],
  [RET_A, 0, 0, 0], //                  12
  [RET_K, 0, 0, 0], //                  13
];

/** struct sock_filter[] of a program. */
export function encodeProgram(insns: readonly Insn[]): Uint8Array {
  const b = new Uint8Array(insns.length * 8);
  const dv = new DataView(b.buffer);
  insns.forEach(([code, jt, jf, k], i) => {
    dv.setUint16(i * 8, code, true);
    b[i * 8 + 2] = jt;
    b[i * 8 + 3] = jf;
    dv.setUint32(i * 8 + 4, k, true);
  });
  return b;
}

export const CLIENT_ADDRESS_PROGRAM = encodeProgram(CLIENT_ADDRESS_HASH);

/**
 * Gives the fanout group of `fd` (joined already, in PACKET_FANOUT_CBPF mode) its program. The
 * kernel copies the instructions, so they only need to live in native memory for the call.
 */
export function setFanoutProgram(libc: Libc, fd: number, program: Uint8Array): void {
  const PAGE = 4096;
  const mem = libc.mmap(0, PAGE, 3 /* PROT_READ|WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
  if (mem === -1) fail(libc, 'mmap(fanout program)');
  try {
    new Uint8Array(libc.view(mem, PAGE)).set(program);
    // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (16 bytes on 64-bit).
    const fprog = new Uint8Array(16);
    const dv = new DataView(fprog.buffer);
    dv.setUint16(0, program.length / 8, true);
    dv.setBigUint64(8, BigInt(mem), true);
    check(libc, 'setsockopt(PACKET_FANOUT_DATA)', libc.setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, fprog, 16));
  } finally {
    libc.munmap(mem, PAGE);
  }
}
