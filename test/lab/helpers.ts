// Shared helpers of the root tests under test/lab/: namespaces (prefixed tsvs-t-, always removed),
// commands inside them, the tsvs CLI of this build, hand-built IPv4/UDP/TCP packets and kernel
// counters. Every wait is bounded.

import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** Why the root tests skip, or false when they can run. */
export const SKIP_NOT_ROOT: string | false = process.getuid?.() === 0 ? false : 'needs root (network namespaces): run the lab tests as root, as CI does';

/** dist/src/bin/tsvs.js of the build these tests were compiled into. */
export const TSVS_JS = fileURLToPath(new URL('../../src/bin/tsvs.js', import.meta.url));

/** Result of a command. */
export interface RunResult { code: number; stdout: string; stderr: string }

/** Runs argv (no shell), never rejects; bounded by timeoutMs. */
export function run(argv: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 255) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Runs argv and fails with its output when it exits non-zero. */
export async function must(argv: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await run(argv, timeoutMs);
  if (r.code !== 0) throw new Error(`\`${argv.join(' ')}\` exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Runs argv inside a namespace. */
export function inNs(ns: string, argv: readonly string[], timeoutMs?: number): Promise<string> {
  return must(['ip', 'netns', 'exec', ns, ...argv], timeoutMs);
}

/** Runs `tsvs ARGS` of this build. */
export function tsvs(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return run([process.execPath, TSVS_JS, ...args], timeoutMs);
}

/** A unique tsvs-t- prefix for this test file's namespaces. */
export function nsPrefix(tag: string): string {
  return `tsvs-t-${tag}-${process.pid}`;
}

/**
 * Two namespaces joined by a veth pair, each end called eth0: `a` 198.18.<net>.1/24 and `b`
 * 198.18.<net>.2/24, b's default route via a. Returns the names; remove with removeNs.
 */
export async function nsPair(prefix: string, net: number): Promise<{ a: string; b: string; aIp: string; bIp: string }> {
  const a = `${prefix}-a`;
  const b = `${prefix}-b`;
  await must(['ip', 'netns', 'add', a]);
  await must(['ip', 'netns', 'add', b]);
  await must(['ip', 'link', 'add', 'eth0', 'netns', a, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
  const aIp = `198.18.${net}.1`;
  const bIp = `198.18.${net}.2`;
  for (const [ns, ip] of [[a, aIp], [b, bIp]] as const) {
    await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await must(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  }
  await must(['ip', '-n', b, 'route', 'add', 'default', 'via', aIp]);
  return { a, b, aIp, bIp };
}

/** Deletes namespaces, ignoring those already gone. */
export async function removeNs(...names: string[]): Promise<void> {
  for (const n of names) await run(['ip', 'netns', 'del', n]);
}

/** A child process started inside a namespace (`ip netns exec` execs, so the PID is the child's); stop with kill(). */
export function spawnInNs(ns: string, argv: readonly string[]): ChildProcess & { output: () => string } {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  return Object.assign(child, { output: () => out });
}

/** Stops a child by its PID and waits (bounded) for it to exit. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(3000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Waits until `cond()` holds, polling every 50 ms, failing after `timeoutMs`. */
export async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Every net.ipv4.conf.* and net.ipv6.conf.* sysctl of a namespace, as "key = value" lines. */
export async function confSysctls(ns: string): Promise<string[]> {
  const out = await inNs(ns, ['sysctl', '-a', '-r', '^net\\.ipv[46]\\.conf\\.']);
  return out.split('\n').filter(Boolean).sort();
}

/** Addresses of a namespace as "dev addr/len" (lifetimes and the kernel's own IPv6 link-local addresses, which appear asynchronously, left out). */
export async function addrList(ns: string): Promise<string[]> {
  const j = JSON.parse(await must(['ip', '-n', ns, '-j', 'addr', 'show'])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
  return j.flatMap((l) => l.addr_info.filter((a) => !a.local.startsWith('fe80:')).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)).sort();
}

/** Links of a namespace as "name UP|DOWN". */
export async function linkList(ns: string): Promise<string[]> {
  const j = JSON.parse(await must(['ip', '-n', ns, '-j', 'link', 'show'])) as { ifname: string; flags: string[] }[];
  return j.map((l) => `${l.ifname} ${l.flags.includes('UP') ? 'UP' : 'DOWN'}`).sort();
}

/** One counter of /proc/net/netstat (or /proc/net/snmp) in a namespace (e.g. TcpExt IPReversePathFilter). */
export async function netstat(ns: string, group: string, name: string, file = '/proc/net/netstat'): Promise<number> {
  const lines = (await inNs(ns, ['cat', file])).split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const h = lines[i]!.split(' ');
    const v = lines[i + 1]!.split(' ');
    if (h[0] === `${group}:` && v[0] === `${group}:`) {
      const k = h.indexOf(name);
      if (k > 0) return Number(v[k]);
    }
  }
  throw new Error(`no counter ${group} ${name} in ${file} of ${ns}`);
}

// ---- hand-built packets (RFC 791/768/793), checksums per RFC 1071 ----

function ip4(a: string): number[] {
  return a.split('.').map(Number);
}

function sum16(b: Uint8Array, init = 0): number {
  let s = init;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function l4(src: string, dst: string, proto: number, seg: Buffer, csumOff: number): Buffer {
  const pseudo = Buffer.from([...ip4(src), ...ip4(dst), 0, proto, seg.length >> 8, seg.length & 0xff]);
  seg.writeUInt16BE(0, csumOff);
  const c = (~sum16(seg, sum16(pseudo))) & 0xffff;
  seg.writeUInt16BE(c === 0 && proto === 17 ? 0xffff : c, csumOff);
  return seg;
}

/** An IPv4 packet (20-byte header, DF, TTL 64) around an L4 segment. */
export function ipv4(src: string, dst: string, proto: number, seg: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + seg.length, 2);
  h.writeUInt16BE(0x4000, 6);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(ip4(src)).copy(h, 12);
  Buffer.from(ip4(dst)).copy(h, 16);
  h.writeUInt16BE((~sum16(h)) & 0xffff, 10);
  return Buffer.concat([h, seg]);
}

/** An IPv4/UDP datagram with a valid checksum. */
export function udpPacket(src: string, sport: number, dst: string, dport: number, payload: Buffer): Buffer {
  const seg = Buffer.alloc(8 + payload.length);
  seg.writeUInt16BE(sport, 0);
  seg.writeUInt16BE(dport, 2);
  seg.writeUInt16BE(seg.length, 4);
  payload.copy(seg, 8);
  return ipv4(src, dst, 17, l4(src, dst, 17, seg, 6));
}

/** An IPv4/TCP SYN (MSS option) with a valid checksum. */
export function tcpSyn(src: string, sport: number, dst: string, dport: number, seq = 0x01020304): Buffer {
  const seg = Buffer.alloc(24);
  seg.writeUInt16BE(sport, 0);
  seg.writeUInt16BE(dport, 2);
  seg.writeUInt32BE(seq, 4);
  seg[12] = 6 << 4; // data offset 6 words
  seg[13] = 0x02; // SYN
  seg.writeUInt16BE(64240, 14);
  seg.set([2, 4, 0x05, 0xb4], 20); // MSS 1460
  return ipv4(src, dst, 6, l4(src, dst, 6, seg, 16));
}

/** A GUE version 0 header for an IPv4 inner packet (spec §3.3). */
export function gue(inner: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0, 4, 0, 0]), inner]);
}

/** Sends one UDP datagram from inside a namespace (node:dgram in a child). */
export function sendUdp(ns: string, host: string, port: number, payload: Buffer): Promise<string> {
  const js = `const s=require('dgram').createSocket('udp4');s.send(Buffer.from(process.argv[1],'hex'),${port},'${host}',(e)=>{if(e)throw e;s.close()})`;
  return inNs(ns, [process.execPath, '-e', js, payload.toString('hex')]);
}

/** Number of TCP request sockets in SYN-RECV in a namespace (a SYN reached a listener). */
export async function synRecv(ns: string): Promise<number> {
  return (await inNs(ns, ['ss', '-Htn', 'state', 'syn-recv'])).split('\n').filter(Boolean).length;
}

/** The lock the tests that build the fixed-name `tsvs lab` take, so test files run in parallel never share it. */
const LAB_TEST_LOCK = '/run/tsvs-lab-test.lock';

/**
 * Takes the lab test lock (an atomic mkdir holding the owner's PID; a dead owner's lock is taken
 * over), waiting at most `timeoutMs`. Returns the release function.
 */
export async function labTestLock(timeoutMs = 300_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LAB_TEST_LOCK);
      writeFileSync(`${LAB_TEST_LOCK}/pid`, String(process.pid));
      return () => rmSync(LAB_TEST_LOCK, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = 0;
    try { owner = Number(readFileSync(`${LAB_TEST_LOCK}/pid`, 'utf8')); } catch { /* being written or removed */ }
    let alive = true;
    if (owner > 0) {
      try { process.kill(owner, 0); } catch { alive = false; }
    }
    if (!alive) { rmSync(LAB_TEST_LOCK, { recursive: true, force: true }); continue; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the lab test lock ${LAB_TEST_LOCK} (held by pid ${owner})`);
    await sleep(250);
  }
}
