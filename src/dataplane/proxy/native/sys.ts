// The system calls of the native TCP and UDP paths (docs/adr/0004-native-tcp-io.md), bound with koffi: BSD
// sockets, epoll, and the three libuv functions that let Node's own event loop watch our epoll
// descriptor (the node binary exports libuv for addons). Addresses of native memory are plain
// numbers, as in the packet plane, so hot calls never marshal a JS object; only the rare
// setsockopt/bind/connect calls pass small Uint8Arrays.
import { constants as osConstants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { loadKoffi, nativeView } from '../../koffi.js';
export { errnoName } from '../../koffi.js';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_LINGER = 13;
export const SO_OOBINLINE = 10;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
export const SHUT_WR = 1;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x1;
export const EPOLLPRI = 0x2;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000;
const E = osConstants.errno;
export const { EAGAIN, EINTR, EINPROGRESS, EMFILE, ENFILE, ENOBUFS, ENOMEM } = E;

/** The process (or the system) is out of descriptors or memory: nothing a peer did. */
export function isOutOfResources(errno: number): boolean {
  return errno === EMFILE || errno === ENFILE || errno === ENOBUFS || errno === ENOMEM;
}

/** Option values: an int 1, and a struct linger {on, 0 s} (close() then sends a reset). */
export const INT_ONE = new Uint8Array([1, 0, 0, 0]);
export const LINGER_RESET = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

/** The bound calls; fds, lengths and native addresses are numbers. Negative results set errno. */
export interface SockSys {
  readonly socket: (domain: number, type: number, protocol: number) => number;
  readonly setsockopt: (fd: number, level: number, name: number, val: Uint8Array, len: number) => number;
  readonly bind: (fd: number, addr: Uint8Array, len: number) => number;
  readonly listen: (fd: number, backlog: number) => number;
  readonly accept4: (fd: number, addr: number, lenAddr: number, flags: number) => number;
  readonly connect: (fd: number, addr: Uint8Array, len: number) => number;
  readonly getsockname: (fd: number, addr: number, lenAddr: number) => number;
  readonly readAt: (fd: number, addr: number, len: number) => number;
  readonly writeAt: (fd: number, addr: number, len: number) => number;
  /** recvfrom into native memory: the sender's sockaddr at `from`, its length (in and out) at `fromLenAddr`. */
  readonly recvfromAt: (fd: number, addr: number, len: number, flags: number, from: number, fromLenAddr: number) => number;
  /** sendto from native memory to the sockaddr at native address `to`. */
  readonly sendtoAt: (fd: number, addr: number, len: number, flags: number, to: number, toLen: number) => number;
  readonly shutdown: (fd: number, how: number) => number;
  readonly close: (fd: number) => number;
  readonly epollCreate: (flags: number) => number;
  readonly epollCtl: (ep: number, op: number, fd: number, event: number) => number;
  readonly epollWait: (ep: number, events: number, max: number, timeoutMs: number) => number;
  readonly errno: () => number;
  readonly strerror: (errno: number) => string;
  /** Zeroed native memory that lives as long as the process. */
  readonly alloc: (len: number) => number;
  /** An ArrayBuffer over native memory (no copy). */
  readonly view: (addr: number, len: number) => ArrayBuffer;
  /** Node's main event loop and libuv's poll-handle calls. */
  readonly uvDefaultLoop: () => unknown;
  readonly uvPollInit: (loop: unknown, handle: number, fd: number) => number;
  readonly uvPollStart: (handle: number, events: number, cb: unknown) => number;
  readonly uvPollStop: (handle: number) => number;
  /** How long libuv's next poll may block, in ms (0: work is due now, -1: no timer). */
  readonly uvBackendTimeout: (loop: unknown) => number;
  /** Wraps `fn` as a uv_poll_cb (kept alive by the caller). */
  readonly pollCallback: (fn: (handle: number, status: number, events: number) => void) => unknown;
}

let cached: SockSys | string | undefined;

/**
 * The bindings, or why the native path is unavailable here (not Linux, not the main thread, no
 * koffi build for this platform, a node binary without libuv exports). Computed once.
 */
export function openSockSys(): SockSys | string {
  if (cached === undefined) cached = load();
  return cached;
}

function load(): SockSys | string {
  if (process.platform !== 'linux') return `native socket I/O needs Linux (this is ${process.platform})`;
  // libuv's default loop is the main thread's; a worker thread has a loop of its own we cannot reach.
  if (!isMainThread) return 'native socket I/O runs on the main thread only';
  try {
    const koffi = loadKoffi();
    const libc = koffi.load('libc.so.6');
    const self = koffi.load(null);
    const f = (decl: string) => libc.func(decl);
    const cbType = koffi.pointer(koffi.proto('void tsvs_uv_poll_cb(uintptr_t handle, int status, int events)'));
    const calloc = f('uintptr_t calloc(size_t, size_t)');
    const strerror = f('const char *strerror(int)');
    const sys: SockSys = {
      socket: f('int socket(int, int, int)') as SockSys['socket'],
      setsockopt: f('int setsockopt(int, int, int, const void *, uint32_t)') as SockSys['setsockopt'],
      bind: f('int bind(int, const void *, uint32_t)') as SockSys['bind'],
      listen: f('int listen(int, int)') as SockSys['listen'],
      accept4: f('int accept4(int, uintptr_t, uintptr_t, int)') as SockSys['accept4'],
      connect: f('int connect(int, const void *, uint32_t)') as SockSys['connect'],
      getsockname: f('int getsockname(int, uintptr_t, uintptr_t)') as SockSys['getsockname'],
      readAt: f('intptr_t read(int, uintptr_t, size_t)') as SockSys['readAt'],
      writeAt: f('intptr_t write(int, uintptr_t, size_t)') as SockSys['writeAt'],
      recvfromAt: f('intptr_t recvfrom(int, uintptr_t, size_t, int, uintptr_t, uintptr_t)') as SockSys['recvfromAt'],
      sendtoAt: f('intptr_t sendto(int, uintptr_t, size_t, int, uintptr_t, uint32_t)') as SockSys['sendtoAt'],
      shutdown: f('int shutdown(int, int)') as SockSys['shutdown'],
      close: f('int close(int)') as SockSys['close'],
      epollCreate: f('int epoll_create1(int)') as SockSys['epollCreate'],
      epollCtl: f('int epoll_ctl(int, int, int, uintptr_t)') as SockSys['epollCtl'],
      epollWait: f('int epoll_wait(int, uintptr_t, int, int)') as SockSys['epollWait'],
      errno: () => koffi.errno(),
      strerror: (e) => String(strerror(e)),
      alloc: (len) => Number(calloc(1, len)),
      view: (addr, len) => nativeView(koffi, addr, len),
      uvDefaultLoop: self.func('void *uv_default_loop()') as SockSys['uvDefaultLoop'],
      uvPollInit: self.func('int uv_poll_init(void *, uintptr_t, int)') as SockSys['uvPollInit'],
      uvPollStart: self.func('uv_poll_start', 'int', ['uintptr_t', 'int', cbType]) as SockSys['uvPollStart'],
      uvPollStop: self.func('int uv_poll_stop(uintptr_t)') as SockSys['uvPollStop'],
      uvBackendTimeout: self.func('int uv_backend_timeout(void *)') as SockSys['uvBackendTimeout'],
      pollCallback: (fn) => koffi.register(fn as (...a: unknown[]) => void, cbType),
    };
    return sys;
  } catch (e) {
    return `native socket I/O is unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
}
