// The PROXY protocol on raw descriptors: reading a trusted peer's header off the client socket
// (the bytes accumulate across edges until takeInboundHeader has a whole one), and building the
// header toward the real server from the client socket's own addresses.
import { parseIp } from '../../../core/net/addr.js';
import type { FlowAddrs } from '../engine.js';
import { takeInboundHeader } from '../inbound-header.js';
import { encodeTcpProxyHeader } from '../proxy-protocol.js';
import { IO_BUFFER, type NativeLoop, copyOut } from './loop.js';
import { SOCKADDR_MAX, decodeSockaddr } from './sockaddr.js';
import { EAGAIN, EINTR, type SockSys } from './sys.js';

/** Where reading a PROXY header stands. */
export type HeaderRead =
  /** The socket has no more for now: keep `partial` for the next edge. */
  | { readonly kind: 'wait'; readonly partial: Buffer | undefined }
  /** A whole header: the client as it names it, and the client bytes that came after it. */
  | { readonly kind: 'done'; readonly flow: FlowAddrs; readonly rest: Buffer }
  /** Not a PROXY header (the client is reset). */
  | { readonly kind: 'invalid' }
  /** End of file or an error before the header was complete. */
  | { readonly kind: 'ended'; readonly error: boolean };

/**
 * Reads what `fd` has toward its PROXY header, after `partial` (the bytes of earlier edges). With
 * `peerHungUp`, reads on past a short read until end of file.
 */
export function readInboundHeader(sys: SockSys, loop: NativeLoop, fd: number, partial: Buffer | undefined, flow: FlowAddrs, peerHungUp: boolean): HeaderRead {
  let header = partial;
  for (;;) {
    const n = sys.readAt(fd, loop.mem + loop.ioOff, IO_BUFFER);
    if (n > 0) {
      // A copy out of the shared I/O buffer: the header and any bytes after it outlive this edge.
      const chunk = copyOut(loop.u8, loop.ioOff, n);
      header = header ? Buffer.concat([header, chunk]) : chunk;
      const r = takeInboundHeader(header, flow);
      if (r.status === 'incomplete') {
        if (n < IO_BUFFER && !peerHungUp) return { kind: 'wait', partial: header };
        continue;
      }
      return r.status === 'invalid' ? { kind: 'invalid' } : { kind: 'done', flow: r.flow, rest: r.rest };
    }
    if (n < 0 && (sys.errno() === EAGAIN || sys.errno() === EINTR)) return { kind: 'wait', partial: header };
    return { kind: 'ended', error: n < 0 };
  }
}

/** The PROXY header (v1 or v2) toward the real server: the client, and the address it connected to on `cfd`. */
export function outboundProxyHeader(sys: SockSys, loop: NativeLoop, cfd: number, flow: FlowAddrs, pp: 1 | 2): Buffer {
  const o = loop.scratchOff;
  loop.dv.setUint32(o + SOCKADDR_MAX, SOCKADDR_MAX, true);
  const local = sys.getsockname(cfd, loop.mem + o, loop.mem + o + SOCKADDR_MAX) === 0 ? decodeSockaddr(loop.u8, o) : undefined;
  const src = flow.clientAddr ?? parseIp(flow.clientIp);
  return encodeTcpProxyHeader(pp, src, flow.clientPort, local?.addr, local?.port ?? 0);
}
