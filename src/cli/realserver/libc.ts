// What the tunnel decapsulator needs beyond Node, on top of the packet plane's libc bindings
// (src/dataplane/packet/ffi.ts, koffi) and TUN device (tun.ts): raw IPv4 sockets receiving IPIP
// (protocol 4) and IPv6-in-IPv4 (41) packets, and a bounded poll over them. Loaded lazily so the
// rest of `tsvs realserver` runs where koffi is absent.

import type { Libc } from '../../dataplane/packet/ffi.js';
import type { TunDevice } from '../../dataplane/packet/tun.js';

const AF_INET = 2;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const POLLIN = 0x1;
const EAGAIN = 11;
const EINTR = 4;
const PROT_RW = 3;
const MAP_PRIVATE = 0x02;
const MAP_ANON = 0x20;

let libc: Libc | undefined;

async function load(): Promise<Libc> {
  if (libc) return libc;
  try {
    const { openLibc } = await import('../../dataplane/packet/ffi.js');
    libc = openLibc();
  } catch (e) {
    throw new Error(`Cannot load koffi/libc (needed for the decapsulator's TUN device and IPIP socket): ${(e as Error).message}`);
  }
  return libc;
}

/** Attaches to TUN device `name` (persistent, created by `tsvs realserver up`) without packet info. */
export async function openTun(name: string): Promise<TunDevice> {
  const c = await load();
  const { TunDevice } = await import('../../dataplane/packet/tun.js');
  return TunDevice.open(c, name);
}

/** Non-blocking raw IPv4 sockets for some IP protocols, with a poll over all of them. */
export class RawSockets {
  private readonly pollfds: Uint8Array;

  private constructor(private readonly c: Libc, readonly fds: readonly number[], private readonly pollAddr: number) {
    this.pollfds = new Uint8Array(c.view(pollAddr, 4096));
    const dv = new DataView(this.pollfds.buffer, this.pollfds.byteOffset, this.pollfds.byteLength);
    // struct pollfd { int fd; short events; short revents; } in native memory, filled once.
    fds.forEach((fd, i) => { dv.setInt32(i * 8, fd, true); dv.setInt16(i * 8 + 4, POLLIN, true); });
  }

  /** Opens one socket per protocol (needs CAP_NET_RAW). */
  static async open(protos: readonly number[]): Promise<RawSockets> {
    const c = await load();
    const fds: number[] = [];
    for (const p of protos) {
      const fd = c.socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, p);
      if (fd < 0) {
        const e = c.errno();
        for (const f of fds) c.close(f);
        throw new Error(`Cannot open a raw socket for IP protocol ${p}: ${c.strerror(e)} (errno ${e})`);
      }
      fds.push(fd);
    }
    const addr = c.mmap(0, 4096, PROT_RW, MAP_PRIVATE | MAP_ANON, -1, 0);
    if (addr === -1) throw new Error(`Cannot map the poll array: errno ${c.errno()}`);
    return new RawSockets(c, fds, addr);
  }

  /** Waits at most `timeoutMs` for a packet on any socket; the number of readable sockets. */
  poll(timeoutMs: number): number {
    const r = this.c.poll(this.pollAddr, this.fds.length, timeoutMs);
    return r < 0 ? 0 : r;
  }

  /** Receives one packet (outer IPv4 header included) from socket `i`; 0 when none is queued. */
  recv(i: number, buf: Uint8Array): number {
    const n = this.c.read(this.fds[i]!, buf, buf.length);
    if (n >= 0) return n;
    const e = this.c.errno();
    if (e === EAGAIN || e === EINTR) return 0;
    throw new Error(`read on the raw socket failed: ${this.c.strerror(e)} (errno ${e})`);
  }

  /** Closes the sockets. */
  close(): void {
    for (const f of this.fds) this.c.close(f);
    this.c.munmap(this.pollAddr, 4096);
  }
}
