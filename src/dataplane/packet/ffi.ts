// libc through koffi: the handful of system calls the packet plane needs (design "The packet
// plane"). Every call is a direct koffi function; failures come back as -1 and are turned into a
// SysError naming the call and errno by the callers on the control path. The data path checks
// return values itself and counts instead of throwing.
//
// Native memory is addressed by plain numbers (x86_64/aarch64 user addresses fit in 2^53), so the
// calls that take ring or arena addresses are declared with uintptr_t and never see a JS object.
import { constants as osConstants } from 'node:os';
import { loadKoffi, nativeView } from '../koffi.js';

/** errno values the plane reacts to. */
export const { EINTR, EAGAIN, ENOBUFS, ENOENT } = osConstants.errno;

/** A failed system call: `call` names it, `errno` is the C errno. */
export class SysError extends Error {
  constructor(readonly call: string, readonly errno: number, detail: string) {
    super(`${call} failed: ${detail} (errno ${errno})`);
    this.name = 'SysError';
  }
}

/** The bound libc functions; numbers are fds, lengths and addresses. */
export interface Libc {
  readonly socket: (domain: number, type: number, protocol: number) => number;
  readonly bind: (fd: number, addr: Uint8Array, len: number) => number;
  readonly setsockopt: (fd: number, level: number, name: number, val: Uint8Array, len: number) => number;
  readonly getsockopt: (fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array) => number;
  /** mmap at a chosen address (0 = anywhere); returns the address or -1 (MAP_FAILED). */
  readonly mmap: (addr: number, len: number, prot: number, flags: number, fd: number, off: number) => number;
  readonly munmap: (addr: number, len: number) => number;
  /** poll over a pollfd array at a native address. */
  readonly poll: (fds: number, nfds: number, timeoutMs: number) => number;
  /** send from a native address (or 0 with length 0: a TX ring kick). */
  readonly sendAt: (fd: number, addr: number, len: number, flags: number) => number;
  /** sendmmsg over an mmsghdr array at a native address. */
  readonly sendmmsg: (fd: number, msgs: number, n: number, flags: number) => number;
  readonly close: (fd: number) => number;
  /** ioctl with a pointer argument (an ifreq or similar). */
  readonly ioctl: (fd: number, req: number, arg: Uint8Array) => number;
  readonly ifNameToIndex: (name: string) => number;
  readonly open: (path: string, flags: number) => number;
  readonly read: (fd: number, buf: Uint8Array, len: number) => number;
  readonly write: (fd: number, buf: Uint8Array, len: number) => number;
  /** read/write at native addresses (no JS buffer crosses the call). */
  readonly readAt: (fd: number, addr: number, len: number) => number;
  readonly writeAt: (fd: number, addr: number, len: number) => number;
  readonly eventfd: (initval: number, flags: number) => number;
  /** The calling thread's errno after the last call. */
  readonly errno: () => number;
  readonly strerror: (errno: number) => string;
  /** An ArrayBuffer over native memory [addr, addr+len) (no copy; valid until unmapped). */
  readonly view: (addr: number, len: number) => ArrayBuffer;
}

/** Loads koffi and libc; throws with the reason when either cannot be loaded (not Linux, no prebuilt binary). */
export function openLibc(): Libc {
  const koffi = loadKoffi();
  const lib = koffi.load('libc.so.6');
  const f = (decl: string) => lib.func(decl);
  const mmap = f('intptr_t mmap(uintptr_t, size_t, int, int, int, int64_t)');
  const strerror = f('const char *strerror(int)');
  return {
    socket: f('int socket(int, int, int)') as Libc['socket'],
    bind: f('int bind(int, const void *, uint32_t)') as Libc['bind'],
    setsockopt: f('int setsockopt(int, int, int, const void *, uint32_t)') as Libc['setsockopt'],
    getsockopt: f('int getsockopt(int, int, int, void *, void *)') as Libc['getsockopt'],
    mmap: (addr, len, prot, flags, fd, off) => Number(mmap(addr, len, prot, flags, fd, off)),
    munmap: f('int munmap(uintptr_t, size_t)') as Libc['munmap'],
    poll: f('int poll(uintptr_t, uint64_t, int)') as Libc['poll'],
    sendAt: f('intptr_t send(int, uintptr_t, size_t, int)') as Libc['sendAt'],
    sendmmsg: f('int sendmmsg(int, uintptr_t, unsigned int, int)') as Libc['sendmmsg'],
    close: f('int close(int)') as Libc['close'],
    ioctl: f('int ioctl(int, unsigned long, void *)') as Libc['ioctl'],
    ifNameToIndex: f('unsigned int if_nametoindex(const char *)') as Libc['ifNameToIndex'],
    open: f('int open(const char *, int)') as Libc['open'],
    read: f('intptr_t read(int, void *, size_t)') as Libc['read'],
    write: f('intptr_t write(int, const void *, size_t)') as Libc['write'],
    readAt: f('intptr_t read(int, uintptr_t, size_t)') as Libc['readAt'],
    writeAt: f('intptr_t write(int, uintptr_t, size_t)') as Libc['writeAt'],
    eventfd: f('int eventfd(unsigned int, int)') as Libc['eventfd'],
    errno: () => koffi.errno(),
    strerror: (e) => String(strerror(e)),
    view: (addr, len) => nativeView(koffi, addr, len),
  };
}

/** Raises a SysError for `call` from the current errno. */
export function fail(libc: Libc, call: string): never {
  const e = libc.errno();
  throw new SysError(call, e, libc.strerror(e));
}

/** Checks a return value: negative means failure (errno set). Returns the value. */
export function check(libc: Libc, call: string, rc: number): number {
  if (rc < 0) fail(libc, call);
  return rc;
}

/** A 4-byte int option value. */
export function intOpt(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** htons for a 16-bit value. */
export function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/** Writes a 64-bit native address as two 32-bit halves (no BigInt on the hot path). */
export function writeAddr(u32: Uint32Array, index: number, addr: number): void {
  u32[index] = addr % 4294967296;
  u32[index + 1] = Math.floor(addr / 4294967296);
}
