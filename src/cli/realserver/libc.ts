// The few libc calls the tunnel decapsulator needs beyond Node (koffi): attach to a TUN device
// (ioctl TUNSETIFF) and read IPIP packets from a raw IPPROTO_IPIP socket. Loaded lazily so the
// rest of `tsvs realserver` runs where koffi is absent.

import { openSync } from 'node:fs';

/** Linux constants (x86_64/aarch64 values; <linux/if_tun.h>, <sys/socket.h>, <poll.h>). */
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const AF_INET = 2;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const POLLIN = 0x1;
const EAGAIN = 11;
const EINTR = 4;

interface Libc {
  ioctl: (fd: number, req: number, argType: string, arg: Buffer) => number;
  socket: (domain: number, type: number, proto: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  poll: { async: (fds: Buffer, n: number, timeout: number, cb: (err: unknown, res: number) => void) => void };
  errno: () => number;
}

let libc: Libc | undefined;

async function load(): Promise<Libc> {
  if (libc) return libc;
  let koffi: typeof import('koffi').default;
  try {
    koffi = (await import('koffi')).default;
  } catch (e) {
    throw new Error(`Cannot load koffi (needed for the IPIP decapsulator and TUN devices): ${(e as Error).message}`);
  }
  const lib = koffi.load('libc.so.6');
  libc = {
    ioctl: lib.func('int ioctl(int fd, unsigned long req, ...)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    recv: lib.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)'),
    close: lib.func('int close(int fd)'),
    poll: lib.func('int poll(uint8_t *fds, unsigned long nfds, int timeout)'),
    errno: () => koffi.errno(),
  };
  return libc;
}

/** Opens /dev/net/tun and attaches to (or creates) TUN device `name` without packet info; returns the fd. */
export async function openTun(name: string): Promise<number> {
  const c = await load();
  if (Buffer.byteLength(name) > 15) throw new Error(`Cannot attach to TUN device ${name}: names are at most 15 bytes`);
  const fd = openSync('/dev/net/tun', 'r+');
  const ifr = Buffer.alloc(40); // struct ifreq: char ifr_name[16]; short ifr_flags; ...
  ifr.write(name, 0, 'utf8');
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, 16);
  if (c.ioctl(fd, TUNSETIFF, 'uint8_t *', ifr) < 0) {
    const errno = c.errno();
    c.close(fd);
    throw new Error(`Cannot attach to TUN device ${name}: ioctl(TUNSETIFF) failed with errno ${errno}${errno === 16 ? ' (EBUSY: another process holds it)' : errno === 1 ? ' (EPERM: need CAP_NET_ADMIN)' : ''}`);
  }
  return fd;
}

/** A raw IPv4 socket receiving every packet of one IP protocol (4 = IPIP, 41 = IPv6-in-IPv4). */
export class RawSocket {
  private constructor(private readonly c: Libc, readonly fd: number, readonly proto: number) {}

  /** Opens the socket (needs CAP_NET_RAW). */
  static async open(proto: number): Promise<RawSocket> {
    const c = await load();
    const fd = c.socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, proto);
    if (fd < 0) throw new Error(`Cannot open a raw socket for IP protocol ${proto}: socket() failed with errno ${c.errno()}`);
    return new RawSocket(c, fd, proto);
  }

  /** Receives one packet (outer IPv4 header included) without blocking; 0 when none is queued. */
  recv(buf: Buffer): number {
    const n = this.c.recv(this.fd, buf, buf.length, MSG_DONTWAIT);
    if (n >= 0) return n;
    const e = this.c.errno();
    if (e === EAGAIN || e === EINTR) return 0;
    throw new Error(`recv on the raw protocol ${this.proto} socket failed with errno ${e}`);
  }

  /** Closes the socket. */
  close(): void {
    this.c.close(this.fd);
  }
}

/** Waits (on a koffi worker thread, so the event loop and signals keep running) until one of `fds` is readable or `timeoutMs` passes. */
export async function pollReadable(fds: readonly number[], timeoutMs: number): Promise<number> {
  const c = await load();
  const buf = Buffer.alloc(8 * fds.length); // struct pollfd { int fd; short events; short revents; }
  fds.forEach((fd, i) => { buf.writeInt32LE(fd, i * 8); buf.writeInt16LE(POLLIN, i * 8 + 4); });
  return new Promise((resolve, reject) => {
    c.poll.async(buf, fds.length, timeoutMs, (err, res) => { if (err) reject(err as Error); else resolve(res); });
  });
}
