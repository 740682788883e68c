// The native TCP session's state bits (native-session.ts): the same meaning as in tcp-proxy.ts,
// plus what edge-triggered reading must remember.
import { EPOLLERR, EPOLLHUP, EPOLLPRI, EPOLLRDHUP } from './sys.js';

export const F_CONNECTED = 1;
export const F_CLIENT_EOF = 2;
export const F_SERVER_EOF = 4;
export const F_DONE = 32;
export const F_RESET = 64;
export const F_HEADER = 128;
/** The peer's FIN (or an error) was signalled: read until read() says 0 or fails, not just until a short read. */
export const F_CLIENT_RDHUP = 256;
export const F_SERVER_RDHUP = 512;
/** The client socket is closed (hung up before a real server answered, or closed by us). */
export const F_CLIENT_CLOSED = 1024;
/**
 * The peer's FIN, and no error, was signalled: once a read leaves the receive queue empty, the
 * next read can only say 0 (TCP carries nothing after a FIN, and a reset that follows it still
 * reads as end of file), so the end is taken without that read.
 */
export const F_CLIENT_FIN = 2048;
export const F_SERVER_FIN = 4096;
/**
 * Urgent data arrived (EPOLLPRI): a read stops at the urgent mark, so a short read no longer
 * means the socket is empty. The session reads until EAGAIN or end of file from then on.
 */
export const F_URGENT = 8192;
/**
 * The real server's socket reads urgent data in line (SO_OOBINLINE). Accepted sockets inherit it
 * from the listener; the real server's socket gets it when urgent data is first signalled on
 * either side, one setsockopt for the rare connection that needs it. Linux decides at read time
 * whether to skip the urgent byte, so setting it before the next read is enough, with two narrow
 * exceptions left: a full 64 KiB read that ends exactly at the mark before the EPOLLPRI is seen,
 * and a second urgent pointer that arrives before the first EPOLLPRI is handled.
 */
export const F_SERVER_OOBINLINE = 16384;

/**
 * The flags an event sets for one side: F_URGENT on urgent data (EPOLLPRI); on a hang-up `rdhup`
 * always, `fin` too when it is the peer's FIN without an error.
 */
export function sideEventFlags(ev: number, rdhup: number, fin: number): number {
  const urgent = ev & EPOLLPRI ? F_URGENT : 0;
  if (!(ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return urgent;
  return urgent | ((ev & (EPOLLRDHUP | EPOLLERR)) === EPOLLRDHUP ? rdhup | fin : rdhup);
}
