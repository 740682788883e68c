// One epoll set for every native socket of the process, watched by Node's own event loop through a
// libuv poll handle on the epoll descriptor: when any socket is ready, libuv calls us once, we
// drain the set with epoll_wait(timeout 0) and dispatch to the socket's handler. So native sockets
// and Node's timers, child processes and HTTP API share one thread and one loop, with no thread
// hop. Once woken, we also wait on our own set for a short while (linger) when Node has nothing
// due, so a busy proxy pays one epoll_wait per wakeup as nginx does, not libuv's polls and a
// callback into JavaScript as well (docs/adr/0004-native-tcp-io.md, "the linger"). An event
// carries the fd and a generation number: a handler that closes an fd can see the number reused
// by accept() within the same batch, and the stale events must not reach the new one.
import { PROCESS_CLOCK } from '../../turn-clock.js';
import { EPOLLET, EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, SOCK_CLOEXEC, type SockSys } from './sys.js';

/** Whoever owns a registered fd. */
export interface FdHandler {
  onEvents(fd: number, events: number): void;
}

const MAX_EVENTS = 256;
/** struct epoll_event is packed on x86_64 (12 bytes, data at 4) and padded elsewhere (16, data at 8). */
const PACKED = process.arch === 'x64';
const EV_SIZE = PACKED ? 12 : 16;
const EV_DATA = PACKED ? 4 : 8;
/** Bytes of the shared I/O buffer: the largest chunk moved per read. */
export const IO_BUFFER = 65536;
/** Rounds of MAX_EVENTS per drain, before the linger's checks (or libuv) get a turn. */
const MAX_ROUNDS = 8;
const UV_READABLE = 1;
/**
 * Longest single wait on our set inside libuv's callback, and the most time spent there per
 * callback: libuv's own descriptors (the API, health checks, signals) wait at most this long.
 */
const LINGER_MS = 1;
const LINGER_BUDGET_MS = 4;

/** The process's native event set and the scratch memory its handlers share. */
export class NativeLoop {
  /** Native address and view of: the I/O buffer, then scratch (sockaddrs, option values), then events. */
  readonly mem: number;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly ioOff = 0;
  readonly scratchOff = IO_BUFFER;
  private readonly evOff = IO_BUFFER + 1024;
  private readonly ep: number;
  private handlers: (FdHandler | undefined)[] = [];
  private gens = new Uint32Array(1024);
  private registered = 0;
  private polling = false;
  private readonly uvHandle: number;
  private readonly uvLoop: unknown;
  private readonly callback: unknown;
  /** Where exceptions thrown by handlers go (they must never unwind into libuv). */
  onHandlerError: (e: unknown) => void = (e) => { process.stderr.write(`tsvs: native socket handler failed: ${String(e)}\n`); };

  private static instance: NativeLoop | undefined;

  /** The process's loop (created on first use). */
  static shared(sys: SockSys): NativeLoop {
    NativeLoop.instance ??= new NativeLoop(sys);
    return NativeLoop.instance;
  }

  private constructor(readonly sys: SockSys) {
    const size = this.evOff + MAX_EVENTS * EV_SIZE;
    this.mem = sys.alloc(size);
    if (this.mem === 0) throw new Error('Cannot allocate the native socket buffers: out of memory');
    const buf = sys.view(this.mem, size);
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
    this.ep = sys.epollCreate(SOCK_CLOEXEC);
    if (this.ep < 0) throw new Error(`epoll_create1 failed: ${sys.strerror(sys.errno())}`);
    // uv_poll_t is about 160 bytes in libuv 1.4x; 512 leaves room for any later layout.
    this.uvHandle = sys.alloc(512);
    this.uvLoop = sys.uvDefaultLoop();
    if (sys.uvPollInit(this.uvLoop, this.uvHandle, this.ep) !== 0) throw new Error('uv_poll_init on the epoll descriptor failed');
    this.callback = sys.pollCallback(() => this.onReady());
  }

  /** Registers `fd` for `events` (EPOLLET is the caller's choice); returns 0 or the errno. */
  add(fd: number, events: number, h: FdHandler): number {
    if (fd >= this.gens.length) {
      const g = new Uint32Array(Math.max(fd + 1, this.gens.length * 2));
      g.set(this.gens);
      this.gens = g;
    }
    const gen = (this.gens[fd] + 1) >>> 0;
    this.gens[fd] = gen;
    if (this.ctl(EPOLL_CTL_ADD, fd, events, gen) < 0) return this.sys.errno();
    this.handlers[fd] = h;
    if (++this.registered === 1) this.setPolling(true);
    return 0;
  }

  /** Changes the events of a registered fd; returns 0 or the errno. */
  modify(fd: number, events: number): number {
    return this.ctl(EPOLL_CTL_MOD, fd, events, this.gens[fd]) < 0 ? this.sys.errno() : 0;
  }

  /**
   * Forgets `fd`; call right before closing it (close() takes it out of the epoll set: no
   * EPOLL_CTL_DEL system call). Pending events for it are dropped by the generation check.
   */
  forget(fd: number): void {
    if (this.handlers[fd] === undefined) return;
    this.handlers[fd] = undefined;
    this.gens[fd] = (this.gens[fd] + 1) >>> 0;
    if (--this.registered === 0) this.setPolling(false);
  }

  /** Takes `fd` out of the set while it stays open (EPOLL_CTL_DEL), and forgets it. */
  remove(fd: number): void {
    if (this.handlers[fd] === undefined) return;
    this.ctl(EPOLL_CTL_DEL, fd, 0, 0);
    this.forget(fd);
  }

  /** Registered fds (tests, status). */
  get size(): number {
    return this.registered;
  }

  private ctl(op: number, fd: number, events: number, gen: number): number {
    const o = this.scratchOff + 512;
    this.dv.setUint32(o, events >>> 0, true);
    this.dv.setUint32(o + EV_DATA, fd, true);
    this.dv.setUint32(o + EV_DATA + 4, gen, true);
    return this.sys.epollCtl(this.ep, op, fd, this.mem + o);
  }

  /** An idle set must not keep the process alive (a stopped plane lets Node exit). */
  private setPolling(on: boolean): void {
    if (on === this.polling) return;
    this.polling = on;
    if (on) this.sys.uvPollStart(this.uvHandle, UV_READABLE, this.callback);
    else this.sys.uvPollStop(this.uvHandle);
  }

  private onReady(): void {
    PROCESS_CLOCK.hold();
    try {
      if (this.drain(0) > 0) this.linger();
    } finally {
      PROCESS_CLOCK.release();
    }
  }

  /**
   * Waits on our own set for a while before giving the turn back to libuv, as long as Node has
   * nothing due. Events that come within the wait are handled right here: one epoll_wait per
   * wakeup instead of libuv's poll (two with its idle-time metrics), its loop iteration and a
   * callback into JavaScript. uv_backend_timeout says whether an immediate or a closing handle
   * waits (0), and how far the next timer is; libuv measures that from its own time, which stands
   * still while we run, so the timer's deadline is taken once and checked against our clock.
   */
  private linger(): void {
    const start = performance.now();
    const firstDue = this.sys.uvBackendTimeout(this.uvLoop);
    if (firstDue === 0) return;
    const end = start + (firstDue < 0 ? LINGER_BUDGET_MS : Math.min(firstDue, LINGER_BUDGET_MS));
    while (this.polling) {
      const left = end - performance.now();
      if (left < 1) return;
      if (this.drain(Math.min(LINGER_MS, Math.floor(left))) <= 0) return;
      // What the handlers scheduled: an immediate (or a handle to close) ends the wait.
      if (this.sys.uvBackendTimeout(this.uvLoop) === 0) return;
    }
  }

  /** Handles what the set has, waiting up to `timeoutMs` for the first event; returns the first round's count. */
  private drain(timeoutMs: number): number {
    const dv = this.dv;
    let first = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const n = this.sys.epollWait(this.ep, this.mem + this.evOff, MAX_EVENTS, round === 0 ? timeoutMs : 0);
      if (round === 0) {
        first = n;
        // Time went by while we waited: the events get a reading of their own.
        if (n > 0 && timeoutMs > 0) PROCESS_CLOCK.hold();
      }
      if (n <= 0) return first;
      for (let i = 0; i < n; i++) {
        const e = this.evOff + i * EV_SIZE;
        const events = dv.getUint32(e, true);
        const fd = dv.getUint32(e + EV_DATA, true);
        const gen = dv.getUint32(e + EV_DATA + 4, true);
        const h = this.handlers[fd];
        if (h === undefined || this.gens[fd] !== gen) continue;
        try {
          h.onEvents(fd, events);
        } catch (err) {
          this.onHandlerError(err);
        }
      }
      if (n < MAX_EVENTS) return first;
    }
    return first;
  }
}

/** The bytes of `u8[off, off+len)` (the shared I/O buffer) as a Buffer of their own, to outlive the event. */
export function copyOut(u8: Uint8Array, off: number, len: number): Buffer {
  return Buffer.from(u8.subarray(off, off + len));
}

/**
 * Edge-triggered registration for connected sockets: readable, writable, peer half-close, and
 * urgent data (a read stops at the urgent mark: native-session.ts reads on past short reads then).
 */
export const EDGE_ALL = (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLET) >>> 0;
