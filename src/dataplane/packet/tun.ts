// A TUN device (IFF_TUN | IFF_NO_PI): the real server's decapsulator hands inner IP packets to the
// kernel through it when the ipip/fou modules are missing (design "The packet plane", tunnel mode).
// Reads and writes go through one native buffer mapped once; write() copies the packet in with
// Uint8Array.set and issues one write(2).
import { type Libc, check, fail, EAGAIN } from './ffi.js';

const O_RDWR = 2;
const O_NONBLOCK = 0x800;
const O_CLOEXEC = 0x80000;
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;
const PROT_RW = 3;
const MAP_PRIVATE = 0x02;
const MAP_ANON = 0x20;

/** An open TUN device. */
export class TunDevice {
  /** Packets written and write errors. */
  written = 0;
  writeErrors = 0;
  private readonly buf: Uint8Array;

  private constructor(private readonly libc: Libc, readonly fd: number, readonly name: string, private readonly addr: number, readonly capacity: number) {
    this.buf = new Uint8Array(libc.view(addr, capacity));
  }

  /**
   * Opens (creating if needed) the TUN device `name` in the caller's network namespace. The
   * device exists while the fd is open (it is not persistent); bring it up with `ip link`.
   */
  static open(libc: Libc, name: string, capacity = 65536): TunDevice {
    const enc = new TextEncoder().encode(name);
    if (enc.length === 0 || enc.length >= IFNAMSIZ) throw new Error(`Cannot open TUN device '${name}' as its name must be 1..15 bytes`);
    const fd = check(libc, 'open(/dev/net/tun)', libc.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC));
    const ifr = new Uint8Array(40);
    ifr.set(enc, 0);
    const flags = IFF_TUN | IFF_NO_PI;
    ifr[IFNAMSIZ] = flags & 0xff;
    ifr[IFNAMSIZ + 1] = flags >> 8;
    if (libc.ioctl(fd, TUNSETIFF, ifr) < 0) {
      const e = libc.errno();
      libc.close(fd);
      throw new Error(`Cannot create TUN device '${name}': ${libc.strerror(e)} (errno ${e})`);
    }
    const got = new TextDecoder().decode(ifr.subarray(0, ifr.indexOf(0) < 0 ? IFNAMSIZ : ifr.indexOf(0)));
    const addr = libc.mmap(0, capacity, PROT_RW, MAP_PRIVATE | MAP_ANON, -1, 0);
    if (addr === -1) {
      libc.close(fd);
      fail(libc, 'mmap(tun buffer)');
    }
    return new TunDevice(libc, fd, got, addr, capacity);
  }

  /** Hands the IP packet pkt[off, off+len) to the kernel; false when the kernel refused it (counted). */
  write(pkt: Uint8Array, off: number, len: number): boolean {
    if (len > this.capacity) {
      this.writeErrors++;
      return false;
    }
    this.buf.set(off === 0 && len === pkt.length ? pkt : pkt.subarray(off, off + len), 0);
    const r = this.libc.writeAt(this.fd, this.addr, len);
    if (r !== len) {
      this.writeErrors++;
      return false;
    }
    this.written++;
    return true;
  }

  /**
   * Reads one packet the kernel routed into the device; returns a view of the internal buffer
   * (valid until the next read) or undefined when none is waiting.
   */
  read(): Uint8Array | undefined {
    const r = this.libc.readAt(this.fd, this.addr, this.capacity);
    if (r < 0) {
      if (this.libc.errno() === EAGAIN) return undefined;
      fail(this.libc, `read(${this.name})`);
    }
    return this.buf.subarray(0, r);
  }

  /** Closes the device (it disappears) and frees the buffer. */
  close(): void {
    this.libc.close(this.fd);
    this.libc.munmap(this.addr, this.capacity);
  }
}
