// tsvs's own tunnel decapsulator for real servers whose kernel has no ipip/fou (spec §3.3): it
// receives what the director's tunnel-mode transmit sends (GUE over UDP on --tun-port, or IPIP:
// IPv4 protocol 4, and 41 for IPv6 inner packets), strips the outer header(s) and writes the inner
// packet to a TUN device. The kernel then receives the inner packet on that device as if it had
// arrived there: the VIP (on lo) is local, so the packet is delivered to the service's socket and
// the reply leaves directly toward the client. Because the packet "arrives" on the TUN device while
// the route back to the client leaves through the LAN interface, strict rp_filter would drop it:
// `tsvs realserver up` relaxes rp_filter on the TUN device and on "all".

import { createSocket } from 'node:dgram';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { openTun, RawSockets } from './libc.js';

/** Why an encapsulated packet was not delivered. */
export type DropReason = 'short' | 'gue-version' | 'gue-control' | 'gue-proto' | 'outer-proto' | 'inner-bad';

/** The inner packet's place inside `buf`, or why there is none. */
export type DecapResult = { readonly start: number; readonly end: number } | { readonly drop: DropReason };

/** Checks an inner IP packet at buf[start..end): IPv4 (trailing bytes past total length trimmed) or IPv6. */
function inner(buf: Uint8Array, start: number, end: number, proto: number): DecapResult {
  const len = end - start;
  if (len < 1) return { drop: 'short' };
  const version = buf[start]! >> 4;
  if (proto === 4 && version === 4 && len >= 20) {
    const total = (buf[start + 2]! << 8) | buf[start + 3]!;
    if (total < 20 || total > len || (buf[start]! & 0x0f) < 5) return { drop: 'inner-bad' };
    return { start, end: start + total };
  }
  if (proto === 41 && version === 6 && len >= 40) {
    const total = 40 + ((buf[start + 4]! << 8) | buf[start + 5]!);
    if (total > len) return { drop: 'inner-bad' };
    return { start, end: start + total };
  }
  return { drop: 'inner-bad' };
}

/**
 * Decapsulates a GUE payload (the UDP payload, spec §3.3 GUE; draft-ietf-intarea-gue): version 0 =
 * 4-byte header (ver:2 C:1 hlen:5, proto_ctype, flags:16) plus hlen*4 bytes of options, then the
 * packet of IP protocol proto_ctype (4 = IPv4, 41 = IPv6); version 1 = the IP packet itself (its
 * first two bits, 01, are the GUE version). Control messages (C=1) are not data: dropped.
 */
export function decapGue(msg: Uint8Array): DecapResult {
  if (msg.length < 4) return { drop: 'short' };
  const ver = msg[0]! >> 6;
  if (ver === 1) {
    const v = msg[0]! >> 4;
    return inner(msg, 0, msg.length, v === 6 ? 41 : 4);
  }
  if (ver !== 0) return { drop: 'gue-version' };
  if (msg[0]! & 0x20) return { drop: 'gue-control' };
  const hdr = 4 + (msg[0]! & 0x1f) * 4;
  if (msg.length < hdr) return { drop: 'short' };
  const proto = msg[1]!;
  if (proto !== 4 && proto !== 41) return { drop: 'gue-proto' };
  return inner(msg, hdr, msg.length, proto);
}

/** Decapsulates an IPv4 packet carrying IPIP (protocol 4) or IPv6-in-IPv4 (41), as a raw socket returns it. */
export function decapIpip(pkt: Uint8Array, len = pkt.length): DecapResult {
  if (len < 20 || pkt[0]! >> 4 !== 4) return { drop: 'short' };
  const ihl = (pkt[0]! & 0x0f) * 4;
  const proto = pkt[9]!;
  if (proto !== 4 && proto !== 41) return { drop: 'outer-proto' };
  if (ihl < 20 || len < ihl) return { drop: 'short' };
  return inner(pkt, ihl, len, proto);
}

/** Options of one decapsulator process. */
export interface DecapOptions {
  readonly tunType: 'ipip' | 'gue';
  /** UDP port of GUE (ignored for ipip). */
  readonly tunPort?: number;
  /** TUN device to write inner packets to (created by `tsvs realserver up`, attached here). */
  readonly dev: string;
}

/** Counters of a running decapsulator. */
export interface DecapCounters {
  received: number;
  delivered: number;
  dropped: Partial<Record<DropReason | 'tun-write', number>>;
}

/**
 * Runs the decapsulator until SIGTERM/SIGINT; prints "tsvs-decap: ready" once it receives, and its
 * counters on SIGUSR1 and on exit. Returns the exit code.
 */
export async function runDecap(opts: DecapOptions, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const tun = await openTun(opts.dev);
  const counters: DecapCounters = { received: 0, delivered: 0, dropped: {} };
  const drop = (r: DropReason | 'tun-write'): void => { counters.dropped[r] = (counters.dropped[r] ?? 0) + 1; };
  const deliver = (buf: Uint8Array, r: DecapResult): void => {
    counters.received++;
    if ('drop' in r) { drop(r.drop); return; }
    if (tun.write(buf, r.start, r.end - r.start)) counters.delivered++;
    else drop('tun-write');
  };
  const report = (): void => out(`tsvs-decap: counters ${JSON.stringify(counters)}`);
  let stopping = false;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => { stop = resolve; });
  const onSignal = (): void => { stopping = true; stop(); };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGUSR1', report);

  if (opts.tunType === 'gue') {
    if (opts.tunPort === undefined) throw new Error('Cannot decapsulate GUE without --tun-port');
    const sock = createSocket({ type: 'udp4', reuseAddr: false });
    sock.on('message', (msg) => deliver(msg, decapGue(msg)));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', (e) => reject(new Error(`Cannot bind the GUE decapsulator to UDP port ${opts.tunPort}: ${e.message}`)));
      sock.bind(opts.tunPort, () => resolve());
    });
    out(`tsvs-decap: ready (gue udp port ${opts.tunPort} -> ${opts.dev})`);
    await stopped;
    sock.close();
  } else {
    const socks = await RawSockets.open([4, 41]);
    const buf = new Uint8Array(65536);
    out(`tsvs-decap: ready (ipip protocols 4 and 41 -> ${opts.dev})`);
    while (!stopping) {
      // A bounded poll, then back to the event loop, so SIGTERM is seen within 200 ms.
      if (socks.poll(200) > 0) {
        for (let s = 0; s < socks.fds.length; s++) {
          for (let i = 0; i < 256; i++) { // bounded drain per wakeup
            const len = socks.recv(s, buf);
            if (len === 0) break;
            deliver(buf, decapIpip(buf, len));
          }
        }
      }
      await yieldToLoop();
    }
    socks.close();
  }
  report();
  tun.close();
  return 0;
}
