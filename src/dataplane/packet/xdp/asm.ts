// A tiny eBPF assembler: named helpers for the handful of instructions the kernel fast path uses, and
// jumps to labels resolved at link time, so the program (program.ts) can be edited without
// recounting offsets. The output is the kernel's `struct bpf_insn` array, ready for BPF_PROG_LOAD:
//
//   u8 code | u8 dst_reg:4, src_reg:4 | s16 off | s32 imm        (8 bytes, host byte order)
//
// Only what the program needs is here; each helper names its instruction class so a reader can
// check it against the kernel's Documentation/bpf/standardization/instruction-set.rst.
import { endianness } from 'node:os';

/** Registers: r0 return value, r1-r5 helper arguments (clobbered by calls), r6-r9 callee-saved, r10 frame pointer. */
export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const FP: Reg = 10;

/** Access sizes (the BPF_SIZE field). */
export type Size = 'b' | 'h' | 'w' | 'dw';
const SIZE: Record<Size, number> = { w: 0x00, h: 0x08, b: 0x10, dw: 0x18 };

// Instruction classes and fields (include/uapi/linux/bpf.h, bpf_common.h).
const LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, JMP = 0x05, ALU64 = 0x07;
const MEM = 0x60, IMM = 0x00, ATOMIC = 0xc0;
const K = 0x00, X = 0x08;
const ADD = 0x00, SUB = 0x10, AND = 0x50, MOV = 0xb0;
const JA = 0x00, JEQ = 0x10, JGT = 0x20, JGE = 0x30, JNE = 0x50, JLT = 0xa0, JLE = 0xb0, CALL = 0x80, EXIT = 0x90;
/** src_reg of a 64-bit immediate load that the kernel replaces with a map pointer (the imm is a map fd). */
const PSEUDO_MAP_FD = 1;
/** The atomic operation in imm: plain add (no fetch). */
const ATOMIC_ADD = 0x00;

/** True on little-endian hosts: eBPF runs in host byte order. */
export const HOST_LE = endianness() === 'LE';

/** What a host-order 16-bit load of the network-order bytes of `v` yields (a constant to compare packet fields with). */
export function net16(v: number): number {
  return HOST_LE ? ((v & 0xff) << 8) | ((v >> 8) & 0xff) : v & 0xffff;
}

interface Insn { code: number; dst: number; src: number; off: number; imm: number; label?: string }

/** Collects instructions and labels; `assemble()` resolves jumps and encodes. */
export class Asm {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();

  /** Number of 8-byte instruction slots so far (a 64-bit immediate load takes two). */
  get length(): number {
    return this.insns.length;
  }

  /** Marks the next instruction as `name` (a jump target). */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`asm: label '${name}' defined twice`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  private op(code: number, dst: number, src: number, off: number, imm: number, label?: string): this {
    this.insns.push({ code, dst, src, off, imm, label });
    return this;
  }

  // --- ALU (64-bit) ---
  movImm(dst: Reg, imm: number): this { return this.op(ALU64 | MOV | K, dst, 0, 0, imm); }
  movReg(dst: Reg, src: Reg): this { return this.op(ALU64 | MOV | X, dst, src, 0, 0); }
  addImm(dst: Reg, imm: number): this { return this.op(ALU64 | ADD | K, dst, 0, 0, imm); }
  subReg(dst: Reg, src: Reg): this { return this.op(ALU64 | SUB | X, dst, src, 0, 0); }
  andImm(dst: Reg, imm: number): this { return this.op(ALU64 | AND | K, dst, 0, 0, imm); }

  // --- memory ---
  /** dst = *(size *)(src + off) (zero-extended). */
  ldx(size: Size, dst: Reg, src: Reg, off: number): this { return this.op(LDX | MEM | SIZE[size], dst, src, off, 0); }
  /** *(size *)(dst + off) = src. */
  stx(size: Size, dst: Reg, off: number, src: Reg): this { return this.op(STX | MEM | SIZE[size], dst, src, off, 0); }
  /** *(size *)(dst + off) = imm. */
  st(size: Size, dst: Reg, off: number, imm: number): this { return this.op(ST | MEM | SIZE[size], dst, 0, off, imm); }
  /** Atomic *(u64 *)(dst + off) += src (other CPUs update the same counters). */
  atomicAdd64(dst: Reg, off: number, src: Reg): this { return this.op(STX | ATOMIC | SIZE.dw, dst, src, off, ATOMIC_ADD); }
  /** dst = the map whose fd is `fd` (a two-slot 64-bit immediate load the verifier rewrites to a map pointer). */
  ldMapFd(dst: Reg, fd: number): this {
    this.op(LD | IMM | SIZE.dw, dst, PSEUDO_MAP_FD, 0, fd);
    return this.op(0, 0, 0, 0, 0);
  }

  // --- jumps (64-bit compares, unsigned) ---
  ja(label: string): this { return this.op(JMP | JA, 0, 0, 0, 0, label); }
  jeqImm(dst: Reg, imm: number, label: string): this { return this.op(JMP | JEQ | K, dst, 0, 0, imm, label); }
  jneImm(dst: Reg, imm: number, label: string): this { return this.op(JMP | JNE | K, dst, 0, 0, imm, label); }
  jltImm(dst: Reg, imm: number, label: string): this { return this.op(JMP | JLT | K, dst, 0, 0, imm, label); }
  jleImm(dst: Reg, imm: number, label: string): this { return this.op(JMP | JLE | K, dst, 0, 0, imm, label); }
  jgeImm(dst: Reg, imm: number, label: string): this { return this.op(JMP | JGE | K, dst, 0, 0, imm, label); }
  jgtReg(dst: Reg, src: Reg, label: string): this { return this.op(JMP | JGT | X, dst, src, 0, 0, label); }
  jgeReg(dst: Reg, src: Reg, label: string): this { return this.op(JMP | JGE | X, dst, src, 0, 0, label); }
  /** Calls helper `id` (arguments in r1-r5, result in r0). */
  call(id: number): this { return this.op(JMP | CALL, 0, 0, 0, id); }
  exit(): this { return this.op(JMP | EXIT, 0, 0, 0, 0); }

  /** Resolves labels and encodes the program as `struct bpf_insn[]`. */
  assemble(): Uint8Array {
    const out = new Uint8Array(this.insns.length * 8);
    const dv = new DataView(out.buffer);
    this.insns.forEach((ins, i) => {
      let off = ins.off;
      if (ins.label !== undefined) {
        const at = this.labels.get(ins.label);
        if (at === undefined) throw new Error(`asm: undefined label '${ins.label}'`);
        off = at - (i + 1); // jumps are relative to the next instruction
        if (off < -32768 || off > 32767) throw new Error(`asm: jump to '${ins.label}' out of range`);
      }
      const p = i * 8;
      dv.setUint8(p, ins.code);
      // The register nibbles follow the C bitfield order, which flips with the byte order.
      dv.setUint8(p + 1, HOST_LE ? (ins.src << 4) | ins.dst : (ins.dst << 4) | ins.src);
      dv.setInt16(p + 2, off, HOST_LE);
      dv.setInt32(p + 4, ins.imm | 0, HOST_LE);
    });
    return out;
  }
}
