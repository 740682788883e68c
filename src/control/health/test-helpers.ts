// Test-only helpers for the health checker tests: real loopback servers on port 0, ports known to
// be closed, and a leak check on the process's active handles. Not part of the public API.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { parseIp, type IpAddress } from '../../core/net/addr.js';
import type { CheckTarget } from './checker.js';

/** 127.0.0.1 as an IpAddress. */
export const LOOPBACK: IpAddress = parseIp('127.0.0.1')!;

/** A loopback target on `port`. */
export function loopback(port: number): CheckTarget {
  return { addr: LOOPBACK, port };
}

/** Starts a TCP server on 127.0.0.1:0 with `onConn`; returns its port and a close that also drops open sockets. */
export async function tcpServer(onConn: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const socks = new Set<net.Socket>();
  const server = net.createServer((s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => {});
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A TCP port on 127.0.0.1 that was just free (bound, then closed), so connecting is refused. */
export async function closedTcpPort(): Promise<number> {
  const s = await tcpServer(() => {});
  await s.close();
  return s.port;
}

/** A UDP port on 127.0.0.1 that was just free, so a datagram to it draws ICMP port unreachable. */
export async function closedUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}

/** Starts a UDP server on 127.0.0.1:0 answering each datagram with `reply(msg)` (undefined: no answer). */
export async function udpServer(reply: (msg: Buffer) => Buffer | undefined): Promise<{ port: number; close: () => Promise<void> }> {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => {
    const out = reply(msg);
    if (out) s.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(r)) };
}

/**
 * A TCP port whose accept queue is full, so a new connect's SYN is dropped and the connect hangs:
 * a python3 listener with backlog 0 that never accepts, plus filler connections. Undefined when
 * python3 is missing.
 */
export async function blackholeTcpPort(): Promise<{ port: number; close: () => Promise<void> } | undefined> {
  const code = 'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()';
  let py: ChildProcess;
  try {
    py = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const port = await new Promise<number | undefined>((resolve) => {
    py.once('error', () => resolve(undefined));
    py.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
  });
  if (port === undefined) return undefined;
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const f = net.connect(port, '127.0.0.1');
    f.on('error', () => {});
    fillers.push(f);
  }
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    close: async () => {
      for (const f of fillers) f.destroy();
      const exited = new Promise((r) => py.once('exit', r));
      py.stdin!.end();
      await exited;
    },
  };
}

/** The number of active handles (sockets, timers, child processes) of this process. */
export function activeHandles(): number {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
}

/** Waits (up to `ms`) until the active handle count is at most `baseline`; returns the last count. */
export async function handlesSettle(baseline: number, ms = 3000): Promise<number> {
  const deadline = Date.now() + ms;
  let n = activeHandles();
  while (n > baseline && Date.now() < deadline) {
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 10));
    n = activeHandles();
  }
  return n;
}

/** An AbortSignal that times out after `ms` with a TimeoutError reason, as the runner's does. */
export function within(ms: number): AbortSignal {
  return AbortSignal.timeout(ms);
}
