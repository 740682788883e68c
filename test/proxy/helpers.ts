// Fixtures for the proxy plane's end-to-end tests: a service table with the schedulers, a plane
// on loopback, small real servers (HTTP from demo.ts, raw TCP ones for half-close/reset tests)
// and clients (curl, raw sockets). Everything started here is stopped by the returned handles.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ipvs } from '../../src/core/conn/ipvs.js';
import { parseEndpoint } from '../../src/core/net/addr.js';
import { SeededRandom } from '../../src/core/random.js';
import { type SchedulerEnv, SchedulerRegistry, MH_DEFAULT_TABLE_SIZE } from '../../src/core/sched/scheduler.js';
import { registerSchedulers } from '../../src/dataplane/proxy/registry.js';
import { ServiceTable } from '../../src/core/service/service-table.js';
import { DEST_DEFAULTS, type DestConfig, type Protocol, type ServiceConfig, type ServiceKey, defaultNetmask } from '../../src/core/service/types.js';
import type { ProxyEngine } from '../../src/dataplane/proxy/engine.js';
import { IpvsEngine } from '../../src/dataplane/proxy/ipvs-engine.js';
import { ProxyPlane, type ProxyPlaneOptions, resolveSocketIo } from '../../src/dataplane/proxy/plane.js';

/** A real monotonic clock for the table. */
export const realClock = { nowMs: () => performance.now() };

/** A service table with every builtin scheduler. */
export function makeTable(): ServiceTable {
  const registry = new SchedulerRegistry();
  registerSchedulers(registry);
  const env: SchedulerEnv = {
    clock: realClock, random: new SeededRandom(7), mhTableSize: MH_DEFAULT_TABLE_SIZE,
    lblcExpirationS: 86400, lblcrExpirationS: 86400,
  };
  return new ServiceTable({ registry, env });
}

export function key(protocol: Protocol, endpoint: string): ServiceKey {
  const e = parseEndpoint(endpoint)!;
  return { kind: 'addr', protocol, addr: e.addr, port: e.port };
}

export function svcCfg(k: ServiceKey, scheduler: string, extra: Partial<ServiceConfig> = {}): ServiceConfig {
  return { key: k, scheduler, flags: 0, timeoutS: 0, netmask: defaultNetmask(4), ...extra };
}

export function destCfg(endpoint: string, weight = 1, extra: Partial<DestConfig> = {}): DestConfig {
  const e = parseEndpoint(endpoint)!;
  return { ...DEST_DEFAULTS, method: 'masq', addr: e.addr, port: e.port, weight, ...extra };
}

/** Starts a plane over `table` with `engine`; the caller stops it. */
export async function startPlane(table: ServiceTable, engine: ProxyEngine, extra: Partial<ProxyPlaneOptions> = {}): Promise<ProxyPlane> {
  const plane = new ProxyPlane({ table, engine, sweepIntervalMs: 50, ...extra });
  const st = await plane.start();
  const bad = st.filter((s) => s.state === 'failed');
  if (bad.length > 0) { await plane.stop(); throw new Error(`listeners failed: ${JSON.stringify(bad)}`); }
  return plane;
}

/** Runs curl with a hard timeout; resolves with stdout. */
export function curl(args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', String(Math.ceil(timeoutMs / 1000)), ...args], { timeout: timeoutMs + 2000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`curl ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout)));
  });
}

/** One HTTP/1.0 GET over a raw socket (Connection: close), optionally from `local`; resolves with the response text. */
export function rawGet(host: string, port: number, path = '/', timeoutMs = 5000, local?: { address: string; port: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, localAddress: local?.address, localPort: local?.port });
    const bufs: Buffer[] = [];
    const t = setTimeout(() => { s.destroy(); reject(new Error(`GET ${host}:${port} timed out`)); }, timeoutMs);
    s.on('connect', () => s.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
    s.on('data', (d) => bufs.push(d));
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    s.on('close', () => { clearTimeout(t); resolve(Buffer.concat(bufs).toString()); });
  });
}

/** The backend name in a demo backend's answer ("backend a 127.0.0.11:8080"). */
export function backendOf(body: string): string {
  const m = /backend (\w+)/.exec(body);
  return m ? m[1] : '?';
}

/** A raw TCP server whose connection handler the test writes; closes every socket on close(). */
export async function rawServer(host: string, onConn: (s: net.Socket) => void, port = 0): Promise<{ port: number; server: net.Server; sockets: Set<net.Socket>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onConn(s);
  });
  await new Promise<void>((r, j) => { server.once('error', j); server.listen({ host, port }, () => r()); });
  const p = (server.address() as net.AddressInfo).port;
  return {
    port: p, server, sockets,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/**
 * A port `probe` got from the kernel (bound to port 0, then released) that this process has not
 * handed out before: the kernel may give a closed port out again at once, and a test that asks for
 * two ports before binding either must not get the same one twice.
 */
async function freshPort(handedOut: Set<number>, probe: () => Promise<number>): Promise<number> {
  for (;;) {
    const p = await probe();
    if (handedOut.has(p)) continue;
    handedOut.add(p);
    return p;
  }
}

const tcpHandedOut = new Set<number>();

/** A TCP port that is free on host now and that this process has not been handed before. */
export function freePort(host: string): Promise<number> {
  return freshPort(tcpHandedOut, async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen({ host, port: 0 }, () => r()));
    const p = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return p;
  });
}

/** Waits until cond() holds, polling, at most timeoutMs. */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The TCP I/O paths the proxy tests run over: native (where it loads) and Node sockets. */
export const TCP_IO_PATHS: readonly ('native' | 'node')[] = resolveSocketIo('auto').io === 'native' ? ['native', 'node'] : ['node'];
/** The UDP I/O paths, the same two (the plane's udpIo). */
export const UDP_IO_PATHS = TCP_IO_PATHS;

const udpHandedOut = new Set<number>();

/** A UDP port that is free on `host` now and that this process has not been handed before. */
export function udpPort(host: string): Promise<number> {
  return freshPort(udpHandedOut, async () => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    const p = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return p;
  });
}

/** A table with one service on vip (rr) and real servers `rs`; its port is a fresh one unless given. */
export async function rrService(protocol: 'tcp' | 'udp', vip: string, rs: readonly string[], extra: Partial<ServiceConfig> = {}, port?: number): Promise<{ table: ServiceTable; port: number; k: ServiceKey }> {
  const table = makeTable();
  const p = port ?? (protocol === 'udp' ? await udpPort(vip) : await freePort(vip));
  const k = key(protocol, vip.includes(':') ? `[${vip}]:${p}` : `${vip}:${p}`);
  table.addService(svcCfg(k, 'rr', extra));
  for (const r of rs) table.addDest(k, destCfg(r));
  return { table, port: p, k };
}

/**
 * dig from 127.0.0.1 and a source port this process never used before: a client port that came
 * back within the udp timeout would find its old connection entry and reuse it (as in IPVS), and
 * tests that count sessions or conns per query would be off by one now and then.
 */
export async function digFresh(vip: string, port: number, name: string): Promise<string> {
  return dig(vip, port, name, ['-b', `127.0.0.1#${await udpPort('127.0.0.1')}`]);
}

/** dig @vip -p port NAME +short (one try, 2 s), with extra options; resolves with the answer. */
export function dig(vip: string, port: number, name: string, opts: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dig', [`@${vip}`, '-p', String(port), '+short', '+tries=1', '+time=2', ...opts, name], { timeout: 5000 },
      (err, out) => (err ? reject(err) : resolve(out.trim())));
  });
}

/** The proxy engine over the core's connection layer (the daemon's), seeded. */
export function ipvsEngine(table: ServiceTable, seed = 1): IpvsEngine {
  return new IpvsEngine(new Ipvs(table, { clock: table.clock, random: new SeededRandom(seed) }), table);
}

/** Whether the DNS tests can run (Debian: apt-get install -y dnsmasq dnsutils). */
export const HAVE_DNS = existsSync('/usr/sbin/dnsmasq') && existsSync('/usr/bin/dig');

/**
 * A real DNS server: dnsmasq on `ip` (a free port) answering who.test with `answer`. Resolves
 * once it answers a dig (at most 5 s).
 */
export async function startDnsmasq(ip: string, answer: string): Promise<{ port: number; proc: ChildProcess }> {
  const port = await udpPort(ip);
  const proc = spawn('/usr/sbin/dnsmasq', ['--keep-in-foreground', '--no-daemon', '--no-resolv', '--no-hosts', '--conf-file=/dev/null',
    `--listen-address=${ip}`, '--bind-interfaces', `--port=${port}`, `--address=/who.test/${answer}`, '--user=root', '--pid-file='],
  { stdio: 'ignore' });
  const end = Date.now() + 5000;
  for (;;) {
    if ((await dig(ip, port, 'who.test', ['+time=1']).catch(() => '')) === answer) return { port, proc };
    if (Date.now() > end) { proc.kill('SIGTERM'); throw new Error(`dnsmasq on ${ip}:${port} did not answer within 5 s`); }
  }
}

/** A minimal DNS A query for `name`. */
export function dnsQuery(id: number, name: string): Buffer {
  const labels = name.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]);
  return Buffer.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, 1, 0, 1]);
}

/**
 * A TCP port on `host` that never answers a SYN: a listener that never accepts, its accept queue
 * filled, so a connect to it hangs until the connecting side gives up.
 */
export async function startBlackhole(host: string): Promise<{ port: number; close: () => void }> {
  const port = await freePort(host);
  const py = spawn('python3', ['-c', [
    'import socket,sys',
    `s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${host}", ${port})); s.listen(0)`,
    'cs=[]',
    'for i in range(3):',
    '  c=socket.socket(); c.setblocking(False)',
    `  c.connect_ex(("${host}", ${port})); cs.append(c)`,
    'print("ready", flush=True)',
    'sys.stdin.read()',
  ].join('\n')], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((r, j) => { py.stdout.once('data', () => r()); py.once('exit', () => j(new Error('python exited'))); });
  return { port, close: () => { py.stdin.end(); py.kill(); } };
}

/**
 * The start of a child process's script that runs a plane on native sockets with one rr service
 * `argv[2]` (VIP:port) to one real server `argv[3]`, over the table engine. It leaves `plane`,
 * `st` (the listener states), `table` and `svc` for `body` to use. Tests run a plane in a child
 * when the test itself must not share its thread (descriptor limits, a loop that could starve).
 */
export function nativePlaneChild(body: string): string {
  const here = (p: string) => new URL(p, import.meta.url).href;
  return `
import { makeTable, key, svcCfg, destCfg } from '${here('./helpers.js')}';
import { TableEngine } from '${here('../../src/dataplane/proxy/table-engine.js')}';
import { ProxyPlane } from '${here('../../src/dataplane/proxy/plane.js')}';
const [vip, dest] = process.argv.slice(2);
const table = makeTable();
const k = key('tcp', vip);
table.addService(svcCfg(k, 'rr'));
table.addDest(k, destCfg(dest));
const plane = new ProxyPlane({ table, engine: new TableEngine(table), tcpIo: 'native', sweepIntervalMs: 50 });
const st = await plane.start();
const svc = table.getService(k);
${body}`;
}

/** A script (nativePlaneChild) running in a child process that reports on stdout in JSON lines. */
export interface PlaneChild {
  readonly child: ChildProcess;
  /** The next line the child printed, parsed; fails naming `what` after `timeoutMs`. */
  next(what: string, timeoutMs?: number): Promise<Record<string, number | string>>;
  /** Kills the child (SIGKILL, by PID) and removes its script. */
  dispose(): void;
}

/** Writes `script` to a temporary file and runs it with `args`; stdin and stdout are pipes. */
export function spawnPlaneChild(script: string, args: readonly string[]): PlaneChild {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-plane-child-'));
  writeFileSync(join(dir, 'child.mjs'), script);
  const child = spawn(process.execPath, [join(dir, 'child.mjs'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  let waiter: (() => void) | undefined;
  child.stdout!.on('data', (d: Buffer) => {
    // A line can arrive in two chunks: keep the unfinished end for the next one.
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts.filter(Boolean));
    waiter?.();
  });
  return {
    child,
    async next(what, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (lines.length === 0) {
        if (Date.now() > end) throw new Error(`the child did not report ${what} within ${timeoutMs} ms`);
        await new Promise<void>((r) => { waiter = r; setTimeout(r, 100); });
      }
      return JSON.parse(lines.shift()!) as Record<string, number | string>;
    },
    dispose() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
