// The daemon end to end: `tsvs run` as a real process with a YAML config, the proxy plane on
// loopback in front of real HTTP servers, tsvsadm over the control socket, SIGHUP reloads (good and
// bad), health checks removing a dead real server, `tsvs proc`, and SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { curl, freePort, rawGet } from '../proxy/helpers.js';

const TSVS = fileURLToPath(new URL('../../src/bin/tsvs.js', import.meta.url));
const TSVSADM = fileURLToPath(new URL('../../src/bin/tsvsadm.js', import.meta.url));

function backend(host: string, name: string): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = http.createServer((_req, res) => res.end(`${name}\n`));
  return new Promise((resolve) => srv.listen(0, host, () => resolve({
    port: (srv.address() as net.AddressInfo).port,
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  })));
}

function config(vport: number, rs: Array<{ host: string; port: number; weight: number; check?: boolean }>, extra = ''): string {
  return `dataplane: { kind: proxy }
api: { enabled: false }
metrics: { enabled: false }
services:
  - protocol: tcp
    address: 127.0.0.1
    port: ${vport}
    scheduler: rr
    forwarding: masq
    health: { delayLoop: 0.2, connectTimeout: 1, retry: 0 }
    realServers:
${rs.map((r) => `      - { address: ${r.host}, port: ${r.port}, weight: ${r.weight}${r.check ? ', checks: [{ type: tcp }]' : ''} }`).join('\n')}
${extra}`;
}

class Daemon {
  readonly out: string[] = [];
  /** Resolves with the exit code (registered at spawn, so an early exit is not missed). */
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', (c) => r(c)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => this.out.push(...d.split('\n').filter(Boolean)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => this.out.push(...d.split('\n').filter(Boolean)));
  }
  /** SIGTERM, then `cleanup`; the daemon must have exited 0. */
  async stopCleanly(cleanup: () => Promise<void>): Promise<void> {
    this.child.kill('SIGTERM');
    const code = await this.exited;
    await cleanup();
    assert.equal(code, 0, `daemon exit code; output:\n${this.out.join('\n')}`);
  }
  async waitFor(re: RegExp, ms = 15_000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.out.find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() - t0 > ms || this.child.exitCode !== null) throw new Error(`no line matching ${re}; output:\n${this.out.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}


function adm(sock: string, ...args: string[]) {
  return spawnSync(process.execPath, [TSVSADM, ...args], { encoding: 'utf8', env: { ...process.env, TSVS_SOCKET: sock }, timeout: 20_000 });
}

function get(port: number, agent?: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: agent ?? false }, (res) => {
      let b = '';
      res.setEncoding('utf8').on('data', (c: string) => { b += c; }).on('end', () => resolve(b.trim()));
    }).on('error', reject);
  });
}

test('tsvs run: tsvsadm, reload keeping connections, bad reload, health, proc, SIGTERM', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-daemon-'));
  const a = await backend('127.0.0.21', 'a');
  const b = await backend('127.0.0.22', 'b');
  const vport = await freePort('127.0.0.1');
  const cfgPath = join(dir, 'tsvs.yaml');
  const sock = join(dir, 'tsvs.sock');
  writeFileSync(cfgPath, config(vport, [{ host: '127.0.0.21', port: a.port, weight: 1 }, { host: '127.0.0.22', port: b.port, weight: 1 }]));
  const d = new Daemon(spawn(process.execPath, [TSVS, 'run', '-c', cfgPath, '--control-socket', sock], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await d.waitFor(/"event":"started"/);
    // Real traffic through the proxy plane, balanced rr over both real servers.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await get(vport));
    assert.deepEqual([...seen].sort(), ['a', 'b']);

    const list = adm(sock, '-L', '-n');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`TCP  127\\.0\\.0\\.1:${vport} rr\\n`));
    assert.match(list.stdout, new RegExp(`  -> 127\\.0\\.0\\.21:${a.port} +Masq {4}1 `));
    const stats = adm(sock, '-L', '-n', '--stats');
    assert.match(stats.stdout, new RegExp(`TCP  127\\.0\\.0\\.1:${vport} +4 `), 'four connections counted');

    // An established keep-alive connection survives a reload that changes another real server.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(vport, agent);
    writeFileSync(cfgPath, config(vport, [{ host: '127.0.0.21', port: a.port, weight: 1 }, { host: '127.0.0.22', port: b.port, weight: 5 }]));
    d.child.kill('SIGHUP');
    await d.waitFor(/"event":"director-reload".*configuration reloaded|configuration reloaded/);
    assert.match(adm(sock, '-L', '-n').stdout, new RegExp(`127\\.0\\.0\\.22:${b.port} +Masq {4}5 `));
    assert.equal(await get(vport, agent), first, 'the same connection, to the same real server');
    agent.destroy();

    // A bad config is rejected with file:line and changes nothing.
    writeFileSync(cfgPath, config(vport, [{ host: '127.0.0.21', port: a.port, weight: -3 }]));
    d.child.kill('SIGHUP');
    const rejected = await d.waitFor(/reload-rejected/);
    assert.match(rejected, /tsvs\.yaml:\d+:\d+: services\[0\]\.realServers\[0\]\.weight/);
    assert.match(adm(sock, '-L', '-n').stdout, new RegExp(`127\\.0\\.0\\.22:${b.port} +Masq {4}5 `));

    // Health: a real server whose port is closed is removed by its TCP check (spec §7.2).
    const deadPort = await freePort('127.0.0.23');
    writeFileSync(cfgPath, config(vport, [
      { host: '127.0.0.21', port: a.port, weight: 1, check: true },
      { host: '127.0.0.23', port: deadPort, weight: 1, check: true },
    ]));
    d.child.kill('SIGHUP');
    const t0 = Date.now();
    while (adm(sock, '-L', '-n').stdout.includes('127.0.0.23') && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
    const after = adm(sock, '-L', '-n').stdout;
    assert.ok(!after.includes('127.0.0.23'), after);
    assert.ok(after.includes(`127.0.0.21:${a.port}`));
    for (let i = 0; i < 3; i++) assert.equal(await get(vport), 'a');

    // Runtime changes made with tsvsadm survive health changes: only the real server whose health
    // changed is touched (spec §7.2), not a drain or an extra service the operator added.
    assert.equal(adm(sock, '-A', '-t', '127.0.0.1:9', '-s', 'rr').status, 0);
    assert.equal(adm(sock, '-e', '-t', `127.0.0.1:${vport}`, '-r', `127.0.0.21:${a.port}`, '-m', '-w', '0').status, 0);
    const revived = net.createServer((c) => c.destroy());
    await new Promise<void>((r) => revived.listen(deadPort, '127.0.0.23', () => r()));
    const t1 = Date.now();
    while (!adm(sock, '-L', '-n').stdout.includes('127.0.0.23') && Date.now() - t1 < 10_000) await new Promise((r) => setTimeout(r, 100));
    const afterHealth = adm(sock, '-L', '-n').stdout;
    await new Promise((r) => revived.close(r));
    assert.ok(afterHealth.includes(`127.0.0.23:${deadPort}`), `the recovered server is back:\n${afterHealth}`);
    assert.match(afterHealth, /TCP  127\.0\.0\.1:9 rr\n/, 'the service added with tsvsadm is still there');
    assert.match(afterHealth, new RegExp(`127\\.0\\.0\\.21:${a.port} +Masq {4}0 `), 'the drain (weight 0) is still there');

    // tsvs proc: the kernel's /proc/net/ip_vs format (hex addresses and ports, spec §8).
    const proc = spawnSync(process.execPath, [TSVS, 'proc', 'ip_vs'], { encoding: 'utf8', env: { ...process.env, TSVS_SOCKET: sock } });
    assert.equal(proc.status, 0, proc.stderr);
    assert.match(proc.stdout, new RegExp(`TCP  7F000001:${vport.toString(16).toUpperCase().padStart(4, '0')} rr  \\n`));

    // Usage errors are answered locally, like ipvsadm.
    const usage = adm(sock, '-a', '-t', `127.0.0.1:${vport}`);
    assert.equal(usage.status, 2);
  } finally {
    d.child.kill('SIGTERM');
    const code = await d.exited;
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `daemon exit code; output:\n${d.out.join('\n')}`);
  }
});


test('tsvsadm says clearly when no daemon runs', () => {
  const r = adm('/nonexistent/tsvs.sock', '-L', '-n');
  assert.equal(r.status, 255);
  assert.match(r.stderr, /no tsvs daemon is running there/);
});

test('tsvs run refuses a bad config with file:line and exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-daemon-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'services:\n  - protocol: tcp\n    address: 1..2.3\n    port: 80\n');
    const r = spawnSync(process.execPath, [TSVS, 'run', '-c', join(dir, 'bad.yaml'), '--control-socket', join(dir, 's.sock'), '--no-api'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.yaml:3:\d+: services\[0\]\.address/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsvs run --dataplane/--offload over a config with several packet workers: what the config could not check is refused at start, naming the setting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-daemon-'));
  try {
    // kind is proxy in the file, so the file's validation has no reason to refuse tc or one full-NAT port.
    writeFileSync(join(dir, 'w.yaml'), 'dataplane:\n  packet:\n    workers: 2\n  fullnat:\n    localAddresses: [198.18.7.2]\n    portRange: { min: 40000, max: 40000 }\n');
    const run = (...extra: string[]) => spawnSync(process.execPath, [TSVS, 'run', '-c', join(dir, 'w.yaml'), '--control-socket', join(dir, 's.sock'), '--no-api',
      '--dataplane', 'packet', '--iface', 'lo', ...extra], { encoding: 'utf8', timeout: 20_000 });
    const tc = run('--offload', 'tc');
    assert.equal(tc.status, 1);
    assert.match(tc.stderr, /Cannot start the packet plane with 2 forwarding workers: dataplane\.packet\.workers: the kernel fast path \(offload: tc\) belongs to one forwarding worker/);
    const ports = run();
    assert.equal(ports.status, 1);
    assert.match(ports.stderr, /Cannot start the packet plane with 2 forwarding workers: dataplane\.fullnat\.portRange: must hold at least one port per packet-plane worker \(2,.*current range is 40000-40000/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsvs run: the proxy plane\'s connect failures and retries reach /metrics', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-metrics-'));
  const a = await backend('127.0.0.31', 'a');
  const deadPort = await freePort('127.0.0.32');
  const vport = await freePort('127.0.0.1');
  const mport = await freePort('127.0.0.1');
  const aport = await freePort('127.0.0.1');
  const cfgPath = join(dir, 'tsvs.yaml');
  // No health checks: rr sends connections to the closed port, which the proxy retries on the
  // live server (dataplane.proxy.retries, default 1). Metrics on a listener of their own.
  writeFileSync(cfgPath, `dataplane: { kind: proxy }
api: { enabled: true, listen: "127.0.0.1:${aport}" }
metrics: { enabled: true, listen: "127.0.0.1:${mport}" }
services:
  - { protocol: tcp, address: 127.0.0.1, port: ${vport}, scheduler: rr, forwarding: masq,
      realServers: [{ address: 127.0.0.31, port: ${a.port} }, { address: 127.0.0.32, port: ${deadPort} }] }
`);
  const d = new Daemon(spawn(process.execPath, [TSVS, 'run', '-c', cfgPath, '--control-socket', join(dir, 'tsvs.sock')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await d.waitFor(/"event":"started"/);
    // curl runs asynchronously: the live real server is in this process.
    for (let i = 0; i < 4; i++) assert.equal((await curl([`http://127.0.0.1:${vport}/`])).trim(), 'a', `request ${i} was answered by the live server`);
    const m = { stdout: await curl([`http://127.0.0.1:${mport}/metrics`]) };
    const sample = (event: string) => Number(new RegExp(`^tsvs_proxy_events_total\\{protocol="tcp",event="${event}"\\} (\\d+)$`, 'm').exec(m.stdout)?.[1]);
    assert.equal(sample('accepted'), 4);
    // How many first tries rr puts on the closed port depends on where retries leave its pointer;
    // every failure must have been retried on the live server.
    assert.ok(sample('connect_failures') >= 1, 'connections were scheduled on the closed port');
    assert.equal(sample('retries'), sample('connect_failures'));
    assert.equal(sample('gave_up'), 0);
    assert.match(m.stdout, /^tsvs_proxy_udp_sockets 0$/m);
    // The metrics moved to their own listener, which serves nothing else.
    assert.match(await curl([`http://127.0.0.1:${aport}/v1/services`]), /"services"/, 'the API still serves the API');
    for (const url of [`http://127.0.0.1:${aport}/metrics`, `http://127.0.0.1:${mport}/v1/services`]) {
      assert.equal((await curl(['-o', '/dev/null', '-w', '%{http_code}', url])), '404', url);
    }
  } finally {
    await d.stopCleanly(async () => { await a.close(); rmSync(dir, { recursive: true, force: true }); });
  }
});

test('tsvs run: dataplane.maxConnections bounds the connection table, and a full table refuses visibly', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-maxconns-'));
  const a = await backend('127.0.0.33', 'a');
  const vport = await freePort('127.0.0.1');
  const mport = await freePort('127.0.0.1');
  const cfgPath = join(dir, 'tsvs.yaml');
  // Entries outlive their connections (TIME_WAIT: 120 s, as in IPVS), so 1024 closed connections
  // fill a table of 1024 and the next client is refused (reset) instead of scheduled.
  writeFileSync(cfgPath, `dataplane: { kind: proxy, maxConnections: 1024 }
api: { enabled: false }
metrics: { enabled: true, listen: "127.0.0.1:${mport}" }
services:
  - { protocol: tcp, address: 127.0.0.1, port: ${vport}, scheduler: rr, forwarding: masq, realServers: [{ address: 127.0.0.33, port: ${a.port} }] }
`);
  const d = new Daemon(spawn(process.execPath, [TSVS, 'run', '-c', cfgPath, '--control-socket', join(dir, 'tsvs.sock')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await d.waitFor(/"event":"started"/);
    const metrics = async () => curl([`http://127.0.0.1:${mport}/metrics`]);
    const getFrom = (localPort: number) => rawGet('127.0.0.1', vport, '/', 5000, { address: '127.0.6.7', port: localPort });
    assert.match(await metrics(), /^tsvs_connection_table_capacity 1024$/m);
    // Each connection from its own client port: a port that came back would take its old entry over
    // (as in IPVS), and loopback reuses TIME_WAIT ports.
    for (let i = 0; i < 1024; i++) assert.match(await getFrom(20000 + i), /\r\n\r\na\n$/, `connection ${i}`);
    assert.match(await metrics(), /^tsvs_connection_table_entries 1024$/m);
    await assert.rejects(getFrom(21024), /ECONNRESET|EPIPE/, 'a full table resets the new client');
    const m = await metrics();
    assert.match(m, /^tsvs_drops_total\{reason="table-full"\} 1$/m);
    assert.match(m, /^tsvs_proxy_events_total\{protocol="tcp",event="refused"\} 1$/m);
  } finally {
    await d.stopCleanly(async () => { await a.close(); rmSync(dir, { recursive: true, force: true }); });
  }
});
