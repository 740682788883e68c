// Root end-to-end test of the packet data plane in every forwarding mode (spec §3): for NAT, DR,
// TUN with IPIP, TUN with GUE and full NAT, `tsvs lab up MODE --servers 2` runs `tsvs run
// --dataplane packet` in the director namespace with rr services on VIP 198.18.1.100 TCP 80 and
// UDP 53. From the client namespace, real curl and dig traffic goes through the VIP; the test checks
// that both real servers got connections (the listing's counters), what address the real servers
// saw (the client's, or the director's for full NAT: nginx's header and access log, dnsmasq's query
// log), that DR/TUN replies bypass the director (OutPkts stay 0, spec §5.4) while NAT/full-NAT
// replies pass through it, that -c lists the connections, and that 100 MB of random bytes arrive
// byte for byte (sha256).

import { packetSocketProtocols } from '../packet/helpers.js';
import { tcxUnavailable } from '../../src/dataplane/packet/xdp/fast-path.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { chmodSync, closeSync, createReadStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB } from '../../src/cli/lab/topology.js';
import { processStartTime } from '../../src/control/sysnet/process.js';
import { inNs, labTestLock, must, netstat, run, SKIP_NOT_ROOT, tsvs, TSVS_JS } from './helpers.js';

const TSVSADM_JS = fileURLToPath(new URL('../../src/bin/tsvsadm.js', import.meta.url));
const LAB_DIR = '/run/tsvs/lab';
const STATE = join(LAB_DIR, 'state.json');
const SOCKET = join(LAB_DIR, 'tsvs.sock');
const VIP = '198.18.1.100';
const CLIENT = '198.18.0.2';
const DIRECTOR = '198.18.1.2';
const RIPS = ['198.18.1.11', '198.18.1.12'] as const;
const BIG_BYTES = 100 * 1024 * 1024;
const HTTP_TRIES = 4;
const DNS_TRIES = 4;

interface Mode {
  readonly name: string;
  readonly up: readonly string[];
  /** The source address the real servers see. */
  readonly seen: string;
  /** Replies bypass the director (DR, TUN): its OutPkts counters stay 0 (spec §5.4). */
  readonly bypass: boolean;
  /** The director runs a kernel fast path (ADR 0005): established flows are forwarded by the kernel. */
  readonly offload?: 'xdp' | 'tc';
  /** The director's forwarding workers (dataplane.packet.workers, PACKET_FANOUT). */
  readonly workers?: number;
}

const MODES: readonly Mode[] = [
  { name: 'NAT (masq)', up: ['nat'], seen: CLIENT, bypass: false },
  { name: 'DR (droute)', up: ['dr'], seen: CLIENT, bypass: true },
  { name: 'DR with the XDP fast path', up: ['dr', '--offload', 'xdp'], seen: CLIENT, bypass: true, offload: 'xdp' },
  // tcx ingress: the director's receive rings are bound to IPv4, IPv6 and ARP instead of taps.
  { name: 'DR with the tc fast path', up: ['dr', '--offload', 'tc'], seen: CLIENT, bypass: true, offload: 'tc' },
  // Two workers in one PACKET_FANOUT group per ring, steered by client address (fanout.ts).
  { name: 'DR with 2 forwarding workers', up: ['dr', '--workers', '2'], seen: CLIENT, bypass: true, workers: 2 },
  { name: 'TUN with IPIP', up: ['tun', '--tun-type', 'ipip'], seen: CLIENT, bypass: true },
  { name: 'TUN with GUE', up: ['tun', '--tun-type', 'gue', '--tun-port', '6080'], seen: CLIENT, bypass: true },
  { name: 'full NAT', up: ['fullnat'], seen: DIRECTOR, bypass: false },
  // Replies come back through the director: the fanout program steers them to the worker that
  // owns the connection (masq: by the client, the reply's destination; full NAT: by the local
  // port, which each worker allocates from its own residue).
  { name: 'NAT (masq) with 2 forwarding workers', up: ['nat', '--workers', '2'], seen: CLIENT, bypass: false, workers: 2 },
  { name: 'full NAT with 2 forwarding workers', up: ['fullnat', '--workers', '2'], seen: DIRECTOR, bypass: false, workers: 2 },
];

/** One line of `tsvsadm -L -n --stats --exact`. */
interface StatsRow { conns: number; inPkts: number; outPkts: number; inBytes: number; outBytes: number }

/** Service "TCP 198.18.1.100:80" -> its row and its destinations' rows by "addr:port". */
function parseStats(out: string): Map<string, { row: StatsRow; dests: Map<string, StatsRow> }> {
  const services = new Map<string, { row: StatsRow; dests: Map<string, StatsRow> }>();
  let cur: { row: StatsRow; dests: Map<string, StatsRow> } | undefined;
  const row = (m: RegExpMatchArray, i: number): StatsRow => ({
    conns: Number(m[i]), inPkts: Number(m[i + 1]), outPkts: Number(m[i + 2]), inBytes: Number(m[i + 3]), outBytes: Number(m[i + 4]),
  });
  for (const line of out.split('\n')) {
    const s = /^(TCP|UDP)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (s) { services.set(`${s[1]} ${s[2]}`, (cur = { row: row(s, 3), dests: new Map() })); continue; }
    const d = /^\s+->\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (d && cur) cur.dests.set(d[1]!, row(d, 2));
  }
  return services;
}

function tsvsadm(args: readonly string[]): Promise<string> {
  return must(['env', `TSVS_SOCKET=${SOCKET}`, process.execPath, TSVSADM_JS, ...args]);
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** 100 MB of random bytes (incompressible, every byte position distinct in practice) and its sha256. */
function makeBigFile(dir: string): { path: string; sha256: string } {
  const path = join(dir, 'big.bin');
  const h = createHash('sha256');
  const fd = openSync(path, 'w', 0o644);
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (let done = 0; done < BIG_BYTES; done += chunk.length) {
      randomFillSync(chunk);
      h.update(chunk);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  return { path, sha256: h.digest('hex') };
}

async function labNamespaces(): Promise<string[]> {
  return (JSON.parse((await must(['ip', '-j', 'netns', 'list'])) || '[]') as { name: string }[]).map((n) => n.name).filter((n) => n.startsWith('tsvs-lab-'));
}

/** Removes the lab (tsvs lab down), then anything of it left over (this test only runs when no lab existed). */
async function labDown(): Promise<void> {
  let procs: { pid: number; startTime: string }[] = [];
  try { procs = (JSON.parse(readFileSync(STATE, 'utf8')) as { processes: { pid: number; startTime: string }[] }).processes; } catch { /* no state */ }
  if (existsSync(STATE)) await tsvs(['lab', 'down'], 60_000);
  for (const p of procs) if (processStartTime(p.pid) === p.startTime) process.kill(p.pid, 'SIGKILL');
  for (const n of await labNamespaces()) await run(['ip', 'netns', 'del', n]);
}

/**
 * With the fast path on: the XDP program is attached to the director's interface (tc: its packet
 * sockets are bound to IPv4, IPv6 and ARP, not taps), and the client's ACKs of the 100 MB transfer
 * (hundreds of packets of one established flow) went through it, as the director's metrics say
 * once the worker's next report is in.
 */
async function offloadedPackets(hook: 'xdp' | 'tc'): Promise<number> {
  if (hook === 'xdp') {
    const link = await inNs('tsvs-lab-director', ['ip', '-d', 'link', 'show', LAB.iface], 10_000);
    assert.match(link, /xdpgeneric/, `an XDP program on ${LAB.iface}: ${link}`);
  } else {
    const table = await inNs('tsvs-lab-director', ['cat', '/proc/net/packet'], 10_000);
    assert.deepEqual(packetSocketProtocols(table), ['0800', '0806', '86dd'], `the director's packet sockets:\n${table}`);
  }
  let packets = 0;
  let m = '';
  for (let i = 0; i < 20 && packets < 100; i++) {
    await new Promise((r) => setTimeout(r, 500));
    m = await inNs('tsvs-lab-director', ['curl', '-sf', '-m', '5', 'http://127.0.0.1:9180/metrics'], 10_000);
    packets = Number(/^tsvs_offload_packets_total (\d+)/m.exec(m)?.[1] ?? 0);
  }
  assert.ok(packets >= 100, `the fast path forwarded the transfer's ACKs: tsvs_offload_packets_total ${packets}`);
  // The director's veth leads to the router's bridge, not to a real server: the flows leave
  // through the veth (delivery into the peer is only for a next hop that is the peer itself).
  const installed = (d: string) => Number(new RegExp(`^tsvs_offload_installed_total\\{delivery="${d}"\\} (\\d+)`, 'm').exec(m)?.[1] ?? -1);
  assert.ok(installed('egress') >= 1, `tsvs_offload_installed_total{delivery="egress"} ${installed('egress')}`);
  assert.equal(installed('peer'), 0);
  return packets;
}

/** Sends, from argv[1], an ICMP time-exceeded to the VIP quoting a UDP reply VIP:53 -> argv[3]:argv[4]. */
const ICMP_TIME_EXCEEDED = `
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
src, vip, client, cport = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
udp = struct.pack('!HHHH', 53, cport, 8 + 32, 0)
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + 8 + 32, 1, 0, 64, 17, 0, socket.inet_aton(vip), socket.inet_aton(client))
ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
icmp = struct.pack('!BBHHH', 11, 0, 0, 0, 0) + ip + udp
icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind((src, 0))
s.sendto(icmp, (vip, 0))
`;

/** A per-worker series of the director's metrics (refreshed once a second), in worker order. */
async function perWorker(family: string): Promise<number[]> {
  const m = await inNs('tsvs-lab-director', ['curl', '-sf', '-m', '5', 'http://127.0.0.1:9180/metrics'], 10_000);
  return [...m.matchAll(new RegExp(`^${family}\\{worker="(\\d+)"\\} (\\d+)$`, 'gm'))]
    .sort((a, b) => Number(a[1]) - Number(b[1])).map((x) => Number(x[2]));
}

/** The director's frames read per worker. */
const workerFrames = () => perWorker('tsvs_packet_rx_frames_total');

/** One TXT query through the VIP, from the client's address or `from` (dig -b: address, or address#port). */
function dig(from?: string): Promise<string> {
  return inNs('tsvs-lab-client', ['dig', '+short', '+time=2', '+tries=2', ...(from ? ['-b', from] : []), `@${VIP}`, 'server.lab.tsvs', 'TXT'], 10_000);
}

/**
 * Several workers (PACKET_FANOUT by client address): queries from eight client addresses reach
 * every worker and are answered (in NAT modes the replies must reach the worker that owns the
 * connection); an ICMP error about a reply reaches that worker too; the 16 queries of one client
 * (16 source ports) stay on one worker, so a persistent service keeps that client on one real
 * server.
 */
async function checkWorkers(workers: number): Promise<void> {
  const clients = Array.from({ length: 8 }, (_, i) => `198.18.0.${21 + i}`);
  for (const c of clients) await inNs('tsvs-lab-client', ['ip', 'addr', 'add', `${c}/24`, 'dev', LAB.iface]);
  const settle = () => new Promise((r) => setTimeout(r, 2500)); // the workers' next report
  await settle();
  const before = await workerFrames();
  assert.equal(before.length, workers, `one series per worker: ${before.join(', ')}`);
  assert.deepEqual(await perWorker('tsvs_packet_worker_up'), Array.from({ length: workers }, () => 1), 'every worker runs');
  for (const c of clients) for (let i = 0; i < 2; i++) assert.match(await dig(c), /"rs[12]"/);
  await settle();
  const spread = await workerFrames();
  assert.ok(spread.every((n, i) => n > before[i]!), `every worker read frames of some client: ${before.join(', ')} -> ${spread.join(', ')}`);

  // An ICMP error about a reply to one client (a router on the path back; time exceeded, which
  // nothing else in this test makes), sent by another address (here another client address, .23,
  // whose hash picks the other worker than .22's: fanout.ts, mirrored in fanout.test.ts): it must
  // reach the worker that owns the client's connection, which passes it on to the real server
  // (spec §2.6).
  await dig('198.18.0.22#40000');
  const exceeded = async () => (await Promise.all(['tsvs-lab-rs1', 'tsvs-lab-rs2'].map((ns) => netstat(ns, 'Icmp', 'InTimeExcds', '/proc/net/snmp')))).reduce((x, y) => x + y, 0);
  const exceeded0 = await exceeded();
  await inNs('tsvs-lab-client', ['python3', '-c', ICMP_TIME_EXCEEDED, '198.18.0.23', VIP, '198.18.0.22', '40000'], 10_000);
  let exceeded1 = exceeded0;
  for (let i = 0; i < 20 && exceeded1 === exceeded0; i++) { await new Promise((r) => setTimeout(r, 100)); exceeded1 = await exceeded(); }
  assert.equal(exceeded1 - exceeded0, 1, 'the ICMP error reached the real server of the connection it quotes');

  await tsvsadm(['-E', '-u', `${VIP}:53`, '-s', 'rr', '-p', '60']);
  const answers = new Set<string>();
  for (let i = 0; i < 16; i++) answers.add((await dig()).trim());
  await settle();
  const after = await workerFrames();
  const grew = after.map((n, i) => n - spread[i]!).sort((a, b) => a - b);
  assert.ok(grew[0]! <= 4 && grew[grew.length - 1]! >= 16, `one client's 16 queries on one worker: ${grew.join(', ')} frames`);
  assert.equal(answers.size, 1, `persistence holds across the client's source ports: ${[...answers].join(' ')}`);
}

async function checkMode(mode: Mode, big: { path: string; sha256: string }, work: string): Promise<void> {
  const up = await tsvs(['lab', 'up', ...mode.up, '--servers', '2'], 120_000);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  assert.match(up.stdout, /director: tsvs run \(packet plane\) is running/, up.stdout);
  // Every real server serves the same 100 MB of random bytes.
  for (const i of [1, 2]) {
    const f = join(LAB_DIR, `rs${i}`, 'www', 'big.bin');
    unlinkSync(f);
    symlinkSync(big.path, f);
  }

  // TCP: rr alternates the real servers; each page names its server and echoes the address it saw.
  const served: string[] = [];
  for (let i = 0; i < HTTP_TRIES; i++) {
    const r = await inNs('tsvs-lab-client', ['curl', '-sfi', '-m', '5', `http://${VIP}/`], 10_000);
    const name = /tsvs lab real server (rs[12]) /.exec(r)?.[1];
    assert.ok(name, `a page from a real server through the VIP: ${r}`);
    served.push(name);
    assert.equal(/^X-Client-Addr: (\S+)\r?$/mi.exec(r)?.[1], mode.seen, `${name} saw the ${mode.seen === CLIENT ? "client's" : "director's"} address`);
  }
  assert.deepEqual([...new Set(served)].sort(), ['rs1', 'rs2'], `both real servers answered: ${served.join(' ')}`);

  // UDP: dig through the VIP reaches both dnsmasq servers.
  const answers: string[] = [];
  for (let i = 0; i < DNS_TRIES; i++) {
    answers.push((await dig()).trim());
  }
  assert.deepEqual([...new Set(answers)].sort(), ['"rs1"', '"rs2"'], `both DNS servers answered: ${answers.join(' ')}`);

  // 100 MB through the VIP, byte for byte.
  const got = join(work, 'got.bin');
  const size = await inNs('tsvs-lab-client', ['curl', '-sf', '-m', '90', '-o', got, '-w', '%{size_download}', `http://${VIP}/big.bin`], 100_000);
  assert.equal(Number(size), BIG_BYTES);
  assert.equal(await sha256File(got), big.sha256, '100 MB arrived byte for byte');
  rmSync(got, { force: true });
  const offloaded = mode.offload ? await offloadedPackets(mode.offload) : 0;

  // What the real servers logged: the source address of every request and query.
  for (const i of [1, 2]) {
    // Leaving out the lab's readiness probe, which the real server sends itself.
    const access = readFileSync(join(LAB_DIR, `rs${i}`, 'access.log'), 'utf8').split('\n').filter((l) => l && !l.startsWith(`${RIPS[i - 1]}:`));
    assert.ok(access.length > 0, `rs${i} logged requests through the VIP`);
    for (const l of access) assert.ok(l.startsWith(`${mode.seen}:`), `rs${i} access log shows ${mode.seen}: ${l}`);
    const dns = readFileSync(join(LAB_DIR, `rs${i}`, 'dnsmasq.log'), 'utf8');
    assert.match(dns, new RegExp(`query\\[TXT\\] server\\.lab\\.tsvs from ${mode.seen.replaceAll('.', '\\.')}\\b`), `rs${i} dnsmasq saw ${mode.seen}`);
  }

  // The listing reads the workers' counters: rr spread the connections, replies counted or not.
  const stats = parseStats(await tsvsadm(['-L', '-n', '--stats', '--exact']));
  const tcp = stats.get(`TCP ${VIP}:80`);
  const udp = stats.get(`UDP ${VIP}:53`);
  assert.ok(tcp && udp, 'both services listed');
  assert.equal(tcp.row.conns, HTTP_TRIES + 1, 'one connection per curl');
  assert.equal(udp.row.conns, DNS_TRIES, 'one connection per dig');
  for (const [svc, n] of [[tcp, HTTP_TRIES + 1], [udp, DNS_TRIES]] as const) {
    const c = RIPS.map((ip) => svc.dests.get(`${ip}:${svc === tcp ? 80 : 53}`)?.conns ?? -1);
    assert.ok(c.every((x) => x >= Math.floor(n / 2)) && c[0]! + c[1]! === n, `rr spreads ${n} connections evenly: ${c.join(' + ')}`);
  }
  assert.ok(tcp.row.inBytes > 0 && udp.row.inPkts >= DNS_TRIES, 'requests counted');
  // What the kernel forwarded is in the service counters too (credited once a second).
  if (mode.offload) assert.ok(tcp.row.inPkts + udp.row.inPkts >= offloaded, `InPkts ${tcp.row.inPkts} + ${udp.row.inPkts} include the ${offloaded} offloaded`);
  if (mode.bypass) {
    for (const svc of [tcp, udp]) {
      assert.equal(svc.row.outPkts, 0, 'replies bypass the director: OutPkts 0 (spec §5.4)');
      assert.equal(svc.row.outBytes, 0);
      for (const d of svc.dests.values()) assert.equal(d.outPkts, 0);
    }
  } else {
    assert.ok(tcp.row.outBytes >= BIG_BYTES, `NAT replies pass through the director: OutBytes ${tcp.row.outBytes}`);
    assert.ok(udp.row.outPkts >= DNS_TRIES, 'DNS replies pass through the director');
  }
  const conns = await tsvsadm(['-L', '-n', '-c']);
  assert.match(conns, new RegExp(`TCP .* ${CLIENT.replaceAll('.', '\\.')}:\\d+\\s+${VIP.replaceAll('.', '\\.')}:80\\s+198\\.18\\.1\\.1[12]:80`), conns);
  assert.match(conns, new RegExp(`UDP .* ${CLIENT.replaceAll('.', '\\.')}:\\d+\\s+${VIP.replaceAll('.', '\\.')}:53\\s+198\\.18\\.1\\.1[12]:53`), conns);
  // The same entries in the kernel's /proc/net/ip_vs_conn format (hex), read from the workers (spec §5.5).
  const proc = await must(['env', `TSVS_SOCKET=${SOCKET}`, process.execPath, TSVS_JS, 'proc', 'ip_vs_conn']);
  assert.match(proc, /^TCP C6120002 [0-9A-F]{4} C6120164 0050 C612010[BC] 0050 /m, proc);
  if (mode.workers) await checkWorkers(mode.workers);

  const down = await tsvs(['lab', 'down'], 60_000);
  assert.equal(down.code, 0, down.stderr + down.stdout);
}

test('packet data plane forwards TCP and UDP through the VIP in every mode (spec §3)', { timeout: 600_000 }, async (t) => {
  if (SKIP_NOT_ROOT) { t.skip(SKIP_NOT_ROOT); return; }
  const release = await labTestLock();
  const work = mkdtempSync(join(tmpdir(), 'tsvs-modes-'));
  try {
    if (existsSync(STATE) || (await labNamespaces()).length) {
      t.skip('a tsvs lab is already up on this machine: not touching it (run tsvs lab down first)');
      return;
    }
    // nginx may read the file as an unprivileged user: the directory must be traversable.
    chmodSync(work, 0o755);
    const big = makeBigFile(work);
    for (const mode of MODES) {
      await t.test(`${mode.name}: rr to 2 real servers, they see ${mode.seen === CLIENT ? 'the client' : 'the director'}, ${mode.bypass ? 'replies bypass the director (OutPkts 0)' : 'replies through the director'}, 100 MB intact`, { skip: (mode.offload === 'tc' && tcxUnavailable()) || false }, async () => {
        try {
          await checkMode(mode, big, work);
        } finally {
          await labDown();
        }
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    release();
  }
});
