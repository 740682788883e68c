// Shared pieces of the packet plane's end-to-end tests: why a test must skip, network namespaces
// (all named tsvs-pio-*, removed at the end even on failure), processes inside them (killed by
// PID), and a PacketPlane running in a namespace (fixtures/director-host.js).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openLibc } from '../../src/dataplane/packet/ffi.js';
import { decode, encode } from './fixtures/wire.js';

/** Why the root/netns tests cannot run here, or false when they can. */
export function packetSkipReason(): string | false {
  if (process.platform !== 'linux') return 'packet plane tests need Linux';
  if (process.getuid?.() !== 0) return 'packet plane tests need root (network namespaces, AF_PACKET): run as root';
  try {
    openLibc();
  } catch (e) {
    return `koffi cannot load: ${(e as Error).message}`;
  }
  for (const [bin, args] of [['ip', ['-V']], ['nft', ['--version']]] as const) {
    try {
      execFileSync(bin, [...args], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (apt-get install iproute2 nftables)`;
    }
  }
  return false;
}

/** Runs a shell command synchronously (20 s at most); returns stdout. */
export function sh(cmd: string, timeoutMs = 20_000): string {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command in namespace `ns` (async, bounded); resolves with its exit code and output. */
export function nsRun(ns: string, argv: readonly string[], timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The protocols a namespace's packet sockets receive, from its /proc/net/packet (columns: sk
 * RefCnt Type Proto ...; Proto in hex, 0003 = ETH_P_ALL), once each and sorted; 0000, a send-only
 * socket that receives nothing, left out. The packet plane in tc mode shows 0800, 0806, 86dd.
 */
export function packetSocketProtocols(procNetPacket: string): string[] {
  const protos = procNetPacket.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[3].toLowerCase());
  return [...new Set(protos)].filter((p) => p !== '0000').sort();
}

/** A compiled fixture's path (fixtures/NAME.js next to this file). */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
}

/** Background processes started in namespaces, killed by PID on cleanup. */
export class Procs {
  private readonly procs: ChildProcess[] = [];

  /** Starts argv in `ns`; output is collected into the returned object's `out`. */
  start(ns: string, argv: readonly string[], cwd?: string): { proc: ChildProcess; out: () => string } {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    this.procs.push(p);
    return { proc: p, out: () => out };
  }

  /** Kills every process started here (SIGKILL, by PID). */
  killAll(): void {
    for (const p of this.procs) if (p.pid && p.exitCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    this.procs.length = 0;
  }
}

/**
 * A client — director — real server line plus a direct client <-> real server link for DR replies:
 *
 *   cli c0 198.18.0.1/24  <->  lb l0 198.18.0.2/24 | lb l1 198.18.1.2/24  <->  rs r0 198.18.1.1/24
 *   cli c1 198.18.3.1/24  <------------------------------------------------->  rs r1 198.18.3.2/24
 *
 * VIP 198.18.0.100 is on the client's subnet (so the client ARPs for it), on the real server's lo
 * (DR, arp_ignore=1/arp_announce=2) and — the operator habit tsvs must survive — on the
 * director's lo too, with ip_forward=1 there. VIP2 198.18.0.101 is on the real server's lo only.
 */
export class DrTopology {
  readonly cli: string;
  readonly lb: string;
  readonly rs: string;
  static readonly VIP = '198.18.0.100';
  /** A second VIP (on the real server's lo only), for services added at run time. */
  static readonly VIP2 = '198.18.0.101';
  static readonly RIP = '198.18.1.1';

  constructor(tag: string) {
    this.cli = `tsvs-pio-${tag}-c`;
    this.lb = `tsvs-pio-${tag}-d`;
    this.rs = `tsvs-pio-${tag}-r`;
  }

  up(): void {
    this.down();
    const { cli, lb, rs } = this;
    sh([
      `ip netns add ${cli}`, `ip netns add ${lb}`, `ip netns add ${rs}`,
      ...[cli, lb, rs].map((n) => `ip -n ${n} link set lo up`),
      `ip link add c0 netns ${cli} address 02:00:00:00:00:c0 type veth peer name l0 netns ${lb} address 02:00:00:00:01:00`,
      `ip link add l1 netns ${lb} address 02:00:00:00:01:01 type veth peer name r0 netns ${rs} address 02:00:00:00:02:00`,
      `ip link add c1 netns ${cli} address 02:00:00:00:00:c1 type veth peer name r1 netns ${rs} address 02:00:00:00:02:01`,
      `ip -n ${cli} addr add 198.18.0.1/24 dev c0`, `ip -n ${cli} addr add 198.18.3.1/24 dev c1`,
      `ip -n ${lb} addr add 198.18.0.2/24 dev l0`, `ip -n ${lb} addr add 198.18.1.2/24 dev l1`,
      `ip -n ${rs} addr add 198.18.1.1/24 dev r0`, `ip -n ${rs} addr add 198.18.3.2/24 dev r1`,
      `ip -n ${rs} addr add ${DrTopology.VIP}/32 dev lo`, `ip -n ${rs} addr add ${DrTopology.VIP2}/32 dev lo`, `ip -n ${lb} addr add ${DrTopology.VIP}/32 dev lo`,
      ...[`${cli} c0`, `${cli} c1`, `${lb} l0`, `${lb} l1`, `${rs} r0`, `${rs} r1`].map((x) => {
        const [n, d] = x.split(' ');
        return `ip -n ${n} link set ${d} up`;
      }),
      `ip netns exec ${rs} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2`,
      `ip netns exec ${cli} sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.c1.rp_filter=0`,
      `ip -n ${rs} route add 198.18.0.0/24 via 198.18.3.1 dev r1`,
      `ip netns exec ${lb} sysctl -qw net.ipv4.ip_forward=1`,
    ].join(' && '));
  }

  down(): void {
    for (const n of [this.cli, this.lb, this.rs]) {
      try {
        sh(`ip netns del ${n} 2>/dev/null || true`);
      } catch { /* best effort */ }
    }
  }
}

/** A PacketPlane running in a namespace, driven over the fixture's line protocol. */
export class DirectorHost {
  private readonly proc: ChildProcess;
  private buf = '';
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  stderr = '';

  constructor(ns: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, fixture('director-host')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const m = decode<{ id: number; ok: boolean; result?: unknown; error?: string }>(line);
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.ok) w?.resolve(m.result);
        else w?.reject(new Error(m.error));
      }
    });
    this.proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.proc.on('exit', () => {
      for (const w of this.waiting.values()) w.reject(new Error(`director host exited: ${this.stderr}`));
      this.waiting.clear();
    });
  }

  /** Sends one command; rejects after `timeoutMs`. */
  call<T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`director host: ${cmd} timed out; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => { clearTimeout(t); resolve(v as T); },
        reject: (e) => { clearTimeout(t); reject(e); },
      });
      this.proc.stdin!.write(encode({ id, cmd, args }) + '\n');
    });
  }

  /** Kills the host with SIGKILL (a crash: nothing is cleaned up) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null || !this.proc.pid) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    process.kill(this.proc.pid, 'SIGKILL');
    await gone;
  }

  /** Closes stdin (the host stops the plane and exits), then kills it by PID after 3 s. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin!.end();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        if (this.proc.pid) try { process.kill(this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
        resolve();
      }, 3000);
      this.proc.once('exit', () => { clearTimeout(t); resolve(); });
    });
  }
}

/**
 * A UDP server on port argv[1] that prints each datagram and its sender's address; IPv6 when
 * argv[2] is '6' (bound to '::'), else IPv4 (0.0.0.0).
 */
export const UDP_SERVER = `
import socket, sys
v6 = len(sys.argv) > 2 and sys.argv[2] == '6'
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('::' if v6 else '0.0.0.0', int(sys.argv[1])))
while True:
    d, a = s.recvfrom(65535)
    print(d.decode(), a[0], flush=True)
`;

/** Sends argv[3] datagrams 'msg-N' to argv[1] (IPv4 or IPv6) port argv[2], 20 ms apart. */
export const UDP_CLIENT = `
import socket, sys, time
s = socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(('msg-%d' % i).encode(), (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.02)
`;

/** Polls a condition every 50 ms, failing with what it waited for (the lab tests' helper). */
export { until as waitFor } from '../lab/helpers.js';

/** A counter of `/proc/net/snmp` in namespace `ns`, by protocol and name (`Tcp`, `RetransSegs`). */
export function snmp(ns: string, proto: string, field: string): number {
  const lines = sh(`ip netns exec ${ns} cat /proc/net/snmp`).split('\n').filter((l) => l.startsWith(`${proto}:`));
  const names = lines[0].split(/\s+/);
  const vals = lines[1].split(/\s+/);
  return Number(vals[names.indexOf(field)]);
}
