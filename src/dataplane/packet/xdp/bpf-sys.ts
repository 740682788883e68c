// The bpf(2) system call through koffi, and the native memory its `union bpf_attr` points into.
// glibc has no bpf() wrapper, so this goes through syscall(2). Everything the kernel reads or writes
// (attr, keys, values, instructions, log) lives in calloc'ed native memory addressed by plain
// numbers: JS buffers could move or be small on-heap arrays, native memory never does, and the
// per-flow calls then allocate nothing.
import { arch, constants as osConstants } from 'node:os';
import { loadKoffi, nativeView } from '../../koffi.js';

/** bpf(2) commands (enum bpf_cmd). */
export const BPF_MAP_CREATE = 0, BPF_MAP_LOOKUP_ELEM = 1, BPF_MAP_UPDATE_ELEM = 2, BPF_MAP_DELETE_ELEM = 3,
  BPF_MAP_GET_NEXT_KEY = 4, BPF_PROG_LOAD = 5, BPF_PROG_QUERY = 16, BPF_LINK_CREATE = 28;
export const BPF_MAP_TYPE_HASH = 1, BPF_PROG_TYPE_SCHED_CLS = 3, BPF_PROG_TYPE_XDP = 6;
/** Attach types (enum bpf_attach_type). */
export const BPF_XDP = 37, BPF_TCX_INGRESS = 46, BPF_TCX_EGRESS = 47;
/** Update flags: create or replace. */
export const BPF_ANY = 0;

/** The size passed with every call: the kernel reads min(size, its own) bytes and wants the rest zero. */
export const ATTR_SIZE = 144;

/** __NR_bpf per architecture (the kernel's syscall tables). */
const NR_BPF: Record<string, number> = { x64: 321, arm64: 280, ia32: 357, arm: 386, riscv64: 280, ppc64: 361, s390x: 351, loong64: 280 };

export { errnoName } from '../../koffi.js';
export const { ENOENT, E2BIG, EPERM, EACCES, EINVAL, EBUSY, ENODEV, EOPNOTSUPP } = osConstants.errno;

/** A bound libc for bpf(2): numbers are fds, addresses and lengths. */
export interface BpfSys {
  /** bpf(cmd, attr at `attr`, ATTR_SIZE): the result, or -errno. */
  readonly bpf: (cmd: number, attr: number) => number;
  readonly close: (fd: number) => number;
  /** Zeroed native memory (calloc); its address. */
  readonly alloc: (len: number) => number;
  readonly free: (addr: number) => void;
  /** An ArrayBuffer over [addr, addr+len) (no copy). */
  readonly view: (addr: number, len: number) => ArrayBuffer;
}

let cached: BpfSys | undefined;

/** Binds libc once per thread (module state is per worker); throws when koffi or libc cannot be loaded. */
export function openBpfSys(): BpfSys {
  if (cached) return cached;
  const nr = NR_BPF[arch()];
  if (nr === undefined) throw new Error(`bpf(2): no syscall number known for architecture ${arch()}`);
  const koffi = loadKoffi();
  const lib = koffi.load('libc.so.6');
  // syscall(2) is variadic in C, but glibc implements it in assembly that only moves integer
  // registers; declaring the exact integer arguments makes it a plain (fast) call on x86_64 and
  // aarch64, where variadic and fixed integer arguments travel in the same registers.
  const syscall = lib.func('long syscall(long, long, uintptr_t, unsigned long)') as (nr: number, cmd: number, attr: number, size: number) => number;
  const close = lib.func('int close(int)') as (fd: number) => number;
  const calloc = lib.func('uintptr_t calloc(size_t, size_t)') as (n: number, size: number) => number;
  const free = lib.func('void free(uintptr_t)') as (addr: number) => void;
  cached = {
    bpf: (cmd, attr) => {
      const r = Number(syscall(nr, cmd, attr, ATTR_SIZE));
      return r < 0 ? -koffi.errno() : r;
    },
    close,
    alloc: (len) => {
      const addr = Number(calloc(1, len));
      if (addr === 0) throw new Error(`calloc(${len}) failed`);
      return addr;
    },
    free,
    view: (addr, len) => nativeView(koffi, addr, len),
  };
  return cached;
}

/** Writes a native address as a u64 (two u32 halves, no BigInt). */
export function setAddr(dv: DataView, off: number, addr: number, le: boolean): void {
  const lo = addr % 4294967296, hi = Math.floor(addr / 4294967296);
  dv.setUint32(off + (le ? 0 : 4), lo, le);
  dv.setUint32(off + (le ? 4 : 0), hi, le);
}

/** Reads a u64 counter as a number (exact below 2^53). */
export function getU64(dv: DataView, off: number, le: boolean): number {
  const lo = dv.getUint32(off + (le ? 0 : 4), le), hi = dv.getUint32(off + (le ? 4 : 0), le);
  return hi * 4294967296 + lo;
}
