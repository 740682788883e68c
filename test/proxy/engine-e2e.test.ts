// The proxy plane over the core's connection layer (Ipvs), end to end on loopback: scheduler
// families, persistence, counters and the connection listing, PROXY headers to real servers
// (a strict parser and nginx), a real server killed mid-run, drain and reload under load.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SVC_F_PERSISTENT } from '../../src/core/service/types.js';
import type { ServiceTable } from '../../src/core/service/service-table.js';
import { type DemoBackend, startDemoBackend } from '../../src/dataplane/proxy/demo.js';
import { decodeProxyHeader, encodeProxyV1, encodeProxyV2 } from '../../src/dataplane/proxy/proxy-protocol.js';
import { parseCidr } from '../../src/dataplane/proxy/cidr.js';
import { formatIp, parseIp } from '../../src/core/net/addr.js';
import type { TcpServiceListener } from '../../src/dataplane/proxy/tcp-service.js';
import { backendOf, curl, destCfg, freePort, ipvsEngine, key, makeTable, rawServer, startBlackhole, startPlane, svcCfg, TCP_IO_PATHS, until, rrService } from './helpers.js';

const VIP = '127.0.3.1';

const engineFor = (table: ServiceTable) => ipvsEngine(table, 3);

/** Opens a raw connection through the proxy and resolves with the first line the server sends. */
function hold(port: number, localAddress?: string): Promise<{ sock: net.Socket; first: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: VIP, port, localAddress });
    sock.once('data', (d) => resolve({ sock, first: d.toString() }));
    sock.on('error', reject);
    setTimeout(() => reject(new Error('hold timeout')), 5000).unref();
  });
}

for (const io of TCP_IO_PATHS) describe(`proxy plane with the Ipvs engine (${io} sockets)`, () => {
  const backends: DemoBackend[] = [];
  before(async () => {
    for (const [n, h] of [['a', '127.0.3.11'], ['b', '127.0.3.12'], ['c', '127.0.3.13']]) backends.push(await startDemoBackend(n, h));
  });
  after(async () => { await Promise.all(backends.map((b) => b.close())); });

  it('counts conns, packets and bytes and lists TIME_WAIT entries after close (spec §2.4, §2.5)', async () => {
    const { table, port, k } = await rrService('tcp', VIP, backends.map((b) => `${b.host}:${b.port}`));
    const engine = engineFor(table);
    const plane = await startPlane(table, engine, { tcpIo: io });
    try {
      for (let i = 0; i < 3; i++) await curl(['-H', 'Connection: close', `http://${VIP}:${port}/`]);
      const svc = table.getService(k)!;
      await until(() => svc.destinations.every((d) => d.activeConns === 0), 3000, 'no active conns');
      assert.equal(svc.stats.conns, 3);
      for (const d of svc.destinations) {
        assert.equal(d.stats.conns, 1);
        assert.equal(d.inactConns, 1, 'closed conns linger inactive, as in the kernel');
        assert.ok(d.stats.inPkts >= 4 && d.stats.outPkts >= 2, `pkts in ${d.stats.inPkts} out ${d.stats.outPkts}`);
        assert.ok(d.stats.outBytes > 30);
      }
      assert.equal(engine.ipvs.conns.count, 3);
    } finally { await plane.stop(); }
  });

  it('lc, wlc, sed and nq send held connections to the least loaded server (spec §1)', async () => {
    const srvs = await Promise.all(['127.0.3.21', '127.0.3.22'].map((h, i) => rawServer(h, (s) => s.write(`srv${i}\n`))));
    for (const [sched, weights, expect] of [['lc', [1, 1], [3, 3]], ['wlc', [2, 1], [4, 2]], ['sed', [2, 1], [4, 2]], ['nq', [2, 1], [4, 2]]] as const) {
      const table = makeTable();
      const port = await freePort(VIP);
      const k = key('tcp', `${VIP}:${port}`);
      table.addService(svcCfg(k, sched));
      srvs.forEach((s, i) => table.addDest(k, destCfg(`127.0.3.2${i + 1}:${s.port}`, weights[i])));
      const plane = await startPlane(table, engineFor(table), { tcpIo: io });
      const held: net.Socket[] = [];
      try {
        const got: string[] = [];
        for (let i = 0; i < 6; i++) { const h = await hold(port); held.push(h.sock); got.push(h.first.trim()); }
        assert.deepEqual([got.filter((g) => g === 'srv0').length, got.filter((g) => g === 'srv1').length], [...expect], `${sched}: ${got}`);
        const svc = table.getService(k)!;
        assert.deepEqual(svc.destinations.map((d) => d.activeConns).sort(), [...expect].sort(), `${sched} active counts`);
      } finally { for (const s of held) s.destroy(); await plane.stop(); }
    }
    await Promise.all(srvs.map((s) => s.close()));
  });

  it('sh, dh and mh send one client to one server; persistence (-p) sticks across schedulers (spec §1, §2.7)', async () => {
    for (const [sched, flags] of [['sh', 0], ['dh', 0], ['mh', 0], ['rr', SVC_F_PERSISTENT]] as const) {
      const table = makeTable();
      const port = await freePort(VIP);
      const k = key('tcp', `${VIP}:${port}`);
      table.addService(svcCfg(k, sched, { flags, timeoutS: 360 }));
      for (const b of backends) table.addDest(k, destCfg(`${b.host}:${b.port}`));
      const engine = engineFor(table);
      const plane = await startPlane(table, engine, { tcpIo: io });
      try {
        for (const client of ['127.0.3.101', '127.0.3.102']) {
          const names = new Set<string>();
          for (let i = 0; i < 5; i++) names.add(backendOf(await curl(['--interface', client, '-H', 'Connection: close', `http://${VIP}:${port}/`])));
          assert.equal(names.size, 1, `${sched}: ${client} went to ${[...names]}`);
        }
        if (flags) assert.equal(table.getService(k)!.destinations.reduce((n, d) => n + d.persistConns, 0), 2, 'one template per client');
      } finally { await plane.stop(); }
    }
  });

  it('sends PROXY v1 and v2 headers that a strict parser accepts, with the client address', async () => {
    const seen: string[] = [];
    const srv = await rawServer('127.0.3.31', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        const r = decodeProxyHeader(buf);
        if (r.status === 'incomplete' || (r.status === 'ok' && buf.length < r.length + 5)) return;
        if (r.status === 'invalid') { seen.push(`invalid ${r.reason}`); s.destroy(); return; }
        const a = r.header.addresses!;
        seen.push(`v${r.header.version} ${a.src.bytes.join('.')}:${a.srcPort} -> ${a.dst.bytes.join('.')}:${a.dstPort}`);
        s.end(`rest=${buf.subarray(r.length).toString()}`);
      });
    });
    const { table, port } = await rrService('tcp', VIP, [`127.0.3.31:${srv.port}`]);
    let version: 1 | 2 = 1;
    const plane = await startPlane(table, engineFor(table), { tcpIo: io, proxyProtocolFor: () => version });
    try {
      for (const v of [1, 2] as const) {
        version = v;
        const reply = await new Promise<{ text: string; lport: number }>((resolve, reject) => {
          const c = net.connect({ host: VIP, port, localAddress: '127.0.3.99' });
          let text = '';
          c.on('connect', () => c.write('hello'));
          c.on('data', (d) => { text += d.toString(); });
          c.on('end', () => resolve({ text, lport: c.localPort! }));
          c.on('error', reject);
        });
        assert.equal(reply.text, 'rest=hello');
        assert.equal(seen.at(-1), `v${v} 127.0.3.99:${reply.lport} -> 127.0.3.1:${port}`);
      }
    } finally { await plane.stop(); await srv.close(); }
  });

  it('takes the client address from a trusted upstream PROXY v1/v2 header; an invalid header is reset', async () => {
    const seen: string[] = [];
    const srv = await rawServer('127.0.3.32', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        const r = decodeProxyHeader(buf);
        if (r.status !== 'ok' || buf.length < r.length + 5) return;
        const a = r.header.addresses!;
        seen.push(`${a.src.bytes.join('.')}:${a.srcPort}`);
        s.end(`rest=${buf.subarray(r.length).toString()}`);
      });
    });
    const { table, port, k } = await rrService('tcp', VIP, [`127.0.3.32:${srv.port}`]);
    const engine = engineFor(table);
    const plane = await startPlane(table, engine, {
      tcpIo: io, proxyProtocolFor: () => 2, serviceSettings: () => ({ acceptProxyFrom: [parseCidr('127.0.3.0/24')] }),
    });
    /** Sends `head` then `body` in two writes (the header may arrive split) and collects the answer. */
    const send = (head: Buffer, body: string) => new Promise<string>((resolve) => {
      const c = net.connect({ host: VIP, port, localAddress: '127.0.3.98' });
      let text = '';
      c.on('connect', () => { c.write(head.subarray(0, 7)); setTimeout(() => c.write(Buffer.concat([head.subarray(7), Buffer.from(body)])), 20); });
      c.on('data', (d) => { text += d.toString(); });
      c.on('end', () => resolve(text));
      c.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
    });
    try {
      const dst = parseIp('198.51.100.1')!;
      assert.equal(await send(encodeProxyV1({ src: parseIp('203.0.113.7')!, srcPort: 4242, dst, dstPort: 80 }), 'hello'), 'rest=hello');
      assert.equal(await send(encodeProxyV2({ transport: 'tcp', src: parseIp('203.0.113.8')!, srcPort: 4343, dst, dstPort: 80 }), 'hello'), 'rest=hello');
      // The real server and the connection table see the announced clients, not the upstream.
      assert.deepEqual(seen, ['203.0.113.7:4242', '203.0.113.8:4343']);
      const clients = [...engine.ipvs.conns.entries()].map((c) => formatIp(c.client.addr));
      assert.deepEqual(clients.sort(), ['203.0.113.7', '203.0.113.8']);
      const bad = await send(Buffer.from('GARBAGE HEADER\r\n'), 'x');
      assert.match(bad, /^error (ECONNRESET|EPIPE)$/, 'an invalid header gets a reset, never the real server');
      const l = plane.listenerOf(table.getService(k)!) as TcpServiceListener;
      assert.equal(l.counters.proxyHeaderInvalid, 1);
      assert.equal(seen.length, 2);
    } finally { await plane.stop(); await srv.close(); }
  });

  it('nginx with proxy_protocol on sees the client address (skipped without nginx)', async (t) => {
    const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
    if (!nginx) { t.skip('nginx not installed (apt-get install -y nginx)'); return; }
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-nginx-'));
    const nport = await freePort('127.0.3.41');
    writeFileSync(join(dir, 'nginx.conf'), [
      'worker_processes 1; daemon off; user root;', `pid ${dir}/nginx.pid;`, 'events { worker_connections 64; }',
      'http {', `  access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};`,
      `  server { listen 127.0.3.41:${nport} proxy_protocol; location / { return 200 "client=$proxy_protocol_addr:$proxy_protocol_port\\n"; } }`,
      '}',
    ].join('\n'));
    const proc = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore' });
    try {
      const { table, port } = await rrService('tcp', VIP, [`127.0.3.41:${nport}`]);
      let v: 1 | 2 = 1;
      const plane = await startPlane(table, engineFor(table), { tcpIo: io, proxyProtocolFor: () => v });
      try {
        await waitListening('127.0.3.41', nport);
        for (const ver of [1, 2] as const) {
          v = ver;
          const out = await curl(['--interface', '127.0.3.98', '-H', 'Connection: close', `http://${VIP}:${port}/`]);
          assert.match(out, /^client=127\.0\.3\.98:\d+$/m, `v${ver}: ${out}`);
        }
      } finally { await plane.stop(); }
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a real server killed mid-run: its clients are reset, new ones go elsewhere, the others are untouched', async () => {
    const victim = await rawServer('127.0.3.51', (s) => { s.write('victim\n'); s.on('data', (d) => s.write(d)); });
    const other = await rawServer('127.0.3.52', (s) => { s.write('other\n'); s.on('data', (d) => s.write(d)); });
    const { table, port, k } = await rrService('tcp', VIP, [`127.0.3.51:${victim.port}`]);
    table.addDest(k, destCfg(`127.0.3.52:${other.port}`));
    const plane = await startPlane(table, engineFor(table), { tcpIo: io });
    const held: { sock: net.Socket; first: string; err?: string }[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const h: { sock: net.Socket; first: string; err?: string } = await hold(port);
        h.sock.on('error', (e: NodeJS.ErrnoException) => { h.err = e.code; });
        held.push(h);
      }
      assert.equal(held.filter((h) => h.first === 'victim\n').length, 3);
      await victim.close(); // destroys its sockets (FIN/RST) and stops listening
      await until(() => held.filter((h) => h.first === 'victim\n').every((h) => h.sock.destroyed || h.sock.readableEnded), 3000, 'victim clients closed');
      for (const h of held.filter((x) => x.first === 'other\n')) {
        const echo = await new Promise<string>((r) => { h.sock.once('data', (d) => r(d.toString())); h.sock.write('still here'); });
        assert.equal(echo, 'still here');
      }
      for (let i = 0; i < 4; i++) {
        const h = await hold(port);
        assert.equal(h.first, 'other\n', 'refused connects are retried on the live server');
        h.sock.destroy();
      }
    } finally { for (const h of held) h.sock.destroy(); await plane.stop(); await other.close(); }
  });

  it('a removed real server keeps its connections unless expire_nodest_conn=1 (spec §2.9)', async () => {
    const srv = await rawServer('127.0.3.61', (s) => { s.write('hi\n'); s.on('data', (d) => s.write(d)); });
    for (const expire of [0, 1]) {
      const table = makeTable();
      const port = await freePort(VIP);
      const k = key('tcp', `${VIP}:${port}`);
      table.addService(svcCfg(k, 'rr'));
      const dc = destCfg(`127.0.3.61:${srv.port}`);
      table.addDest(k, dc);
      const engine = engineFor(table);
      engine.ipvs.setSysctl('expire_nodest_conn', expire);
      const plane = await startPlane(table, engine, { tcpIo: io });
      const h = await hold(port);
      let closed = false;
      h.sock.on('close', () => { closed = true; });
      h.sock.on('error', () => undefined);
      try {
        const dest = table.getService(k)!.destinations[0];
        table.deleteDest(k, dc.addr, dc.port);
        engine.ipvs.destinationRemoved(dest);
        await plane.reconcile();
        if (expire) {
          await until(() => closed, 3000, 'connection closed');
          assert.equal(plane.counters().tcp.expiredNodest, 1, 'counted (tsvs_proxy_events_total event="expired_nodest")');
        } else {
          const echo = await new Promise<string>((r) => { h.sock.once('data', (d) => r(d.toString())); h.sock.write('ping'); });
          assert.equal(echo, 'ping', 'expire_nodest_conn=0: the proxy keeps carrying it');
          assert.equal(closed, false);
        }
      } finally { h.sock.destroy(); await plane.stop(); }
    }
    await srv.close();
  });

  it('a plane stopped while a connect is in flight ends the attempt in the engine (no SYN_RECV entry left)', async () => {
    const hole = await startBlackhole('127.0.3.71');
    const { table, port, k } = await rrService('tcp', VIP, [`127.0.3.71:${hole.port}`]);
    const engine = engineFor(table);
    const plane = await startPlane(table, engine, { tcpIo: io, serviceSettings: () => ({ connectTimeoutMs: 30_000 }) });
    const client = net.connect(port, VIP);
    client.on('error', () => undefined);
    try {
      await until(() => engine.ipvs.conns.count === 1, 3000, 'the attempt scheduled');
      assert.equal([...engine.ipvs.conns.entries()][0].state, 'SYN_RECV');
      await plane.stop();
      const entries = [...engine.ipvs.conns.entries()];
      // The real server's side was never seen: the attempt ends as a refused connect does (OUTPUT RST: SYN_RECV -> CLOSE).
      assert.deepEqual(entries.map((e) => e.state), ['CLOSE'], 'the attempt was reset');
      assert.equal(table.getService(k)!.destinations[0].activeConns, 0);
    } finally { client.destroy(); hole.close(); await plane.stop(); }
  });

  it('drain (weight 0) and reload under load lose no established connection', async () => {
    const table = makeTable();
    const port = await freePort(VIP);
    const k = key('tcp', `${VIP}:${port}`);
    table.addService(svcCfg(k, 'wrr'));
    for (const b of backends) table.addDest(k, destCfg(`${b.host}:${b.port}`));
    const engine = engineFor(table);
    const plane = await startPlane(table, engine, { tcpIo: io });
    try {
      // Keep-alive clients: a request every few ms on a held connection, for ~1.5 s.
      let ok = 0; let failed = 0;
      const agents = Array.from({ length: 8 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
      const stopAt = Date.now() + 1500;
      const load = Promise.all(agents.map(async (agent) => {
        while (Date.now() < stopAt) {
          try { await httpGet(`http://${VIP}:${port}/`, agent); ok++; } catch { failed++; }
        }
        agent.destroy();
      }));
      await new Promise((r) => setTimeout(r, 300));
      const a = backends[0];
      table.editDest(k, destCfg(`${a.host}:${a.port}`, 0)); // drain a
      await plane.reconcile();
      const drained = table.getService(k)!.destinations.find((d) => d.port === a.port)!;
      const before = drained.stats.conns;
      await new Promise((r) => setTimeout(r, 300));
      table.editService(svcCfg(k, 'rr')); // a reload changing the scheduler keeps the listener
      await plane.reconcile();
      await load;
      console.log(`# drain+reload under load: ${ok} requests ok, ${failed} failed, conns to drained a after weight 0: ${drained.stats.conns - before}`);
      assert.equal(failed, 0);
      assert.ok(ok > 50);
      assert.equal(drained.stats.conns - before, 0, 'no new connection to a weight-0 server');
    } finally { await plane.stop(); }
  });
});

function httpGet(url: string, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = http.get(url, { agent, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.on('timeout', () => r.destroy(new Error('timeout')));
  });
}

async function waitListening(host: string, port: number): Promise<void> {
  const end = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ host, port });
      s.on('connect', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listening on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
