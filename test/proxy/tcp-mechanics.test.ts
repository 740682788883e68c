// End-to-end socket mechanics of the TCP proxy on loopback: scheduling per connection, keep-alive,
// half-close each way, resets both ways, connect retry on refusal and timeout, idle timeout.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type DemoBackend, startDemoBackend } from '../../src/dataplane/proxy/demo.js';
import { TableEngine } from '../../src/dataplane/proxy/table-engine.js';
import type { TcpServiceListener } from '../../src/dataplane/proxy/tcp-service.js';
import { backendOf, curl, destCfg, freePort, key, makeTable, rawServer, startBlackhole, startPlane, svcCfg, TCP_IO_PATHS, until, rrService } from './helpers.js';

const VIP = '127.0.1.1';

for (const io of TCP_IO_PATHS) describe(`tcp proxy mechanics (${io} sockets)`, () => {
  const backends: DemoBackend[] = [];
  before(async () => {
    for (const [n, h] of [['a', '127.0.1.11'], ['b', '127.0.1.12'], ['c', '127.0.1.13']]) backends.push(await startDemoBackend(n, h));
  });
  after(async () => { await Promise.all(backends.map((b) => b.close())); });

  it('rr spreads Connection: close requests evenly and counts them (spec §1 rr, §2.4)', async () => {
    const { table, port, k } = await rrService('tcp', VIP, backends.map((b) => `${b.host}:${b.port}`));
    const engine = new TableEngine(table);
    const plane = await startPlane(table, engine, { tcpIo: io });
    try {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) seen.push(backendOf(await curl(['-H', 'Connection: close', `http://${VIP}:${port}/`])));
      assert.deepEqual(seen.slice(0, 3).sort(), ['a', 'b', 'c']);
      assert.deepEqual(seen.slice(3), seen.slice(0, 3), 'rr repeats the same order');
      const svc = table.getService(k)!;
      await until(() => svc.destinations.every((d) => d.activeConns + d.inactConns === 0), 3000, 'conns unbound');
      assert.equal(svc.stats.conns, 6);
      for (const d of svc.destinations) assert.equal(d.stats.conns, 2);
      assert.ok(svc.stats.inBytes > 6 * 30 && svc.stats.outBytes > 6 * 30);
      assert.equal(table.totals.conns, 6);
    } finally { await plane.stop(); }
  });

  it('keep-alive keeps one backend; Connection: close makes a connection per request', async () => {
    const table = makeTable();
    const port = await freePort(VIP);
    const k = key('tcp', `${VIP}:${port}`);
    table.addService(svcCfg(k, 'wrr'));
    table.addDest(k, destCfg(`${backends[0].host}:${backends[0].port}`, 3));
    table.addDest(k, destCfg(`${backends[1].host}:${backends[1].port}`, 1));
    const plane = await startPlane(table, new TableEngine(table), { tcpIo: io });
    try {
      const url = `http://${VIP}:${port}/`;
      const ka = await curl([url, url, url, url]);
      const names = ka.trim().split('\n').map(backendOf);
      assert.equal(names.length, 4);
      assert.equal(new Set(names).size, 1, 'one connection, one backend');
      const svc = table.getService(k)!;
      assert.equal(svc.stats.conns, 1);
      const closeNames: string[] = [];
      for (let i = 0; i < 8; i++) closeNames.push(backendOf(await curl(['-H', 'Connection: close', url])));
      // wrr 3:1 over 8 connections: 6 to a, 2 to b (spec §1 wrr)
      const countA = [...closeNames, ...names.slice(0, 1)].filter((n) => n === 'a').length;
      assert.equal(closeNames.filter((n) => n === 'b').length + closeNames.filter((n) => n === 'a').length, 8);
      assert.ok(countA >= 6 && countA <= 7, `a got ${countA} of 9`);
      assert.equal(svc.stats.conns, 9);
    } finally { await plane.stop(); }
  });

  it('half-close client→server: the client FIN reaches the server, which still answers', async () => {
    const srv = await rawServer('127.0.1.21', (s) => {
      let n = 0;
      s.on('data', (d) => { n += d.length; });
      s.on('end', () => { s.end(`got ${n}`); });
    });
    const { table, port } = await rrService('tcp', VIP, [`127.0.1.21:${srv.port}`]);
    const plane = await startPlane(table, new TableEngine(table), { tcpIo: io });
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const c = net.connect({ host: VIP, port, allowHalfOpen: true });
        let out = '';
        c.on('connect', () => { c.write('x'.repeat(100_000)); c.end(); });
        c.on('data', (d) => { out += d.toString(); });
        c.on('end', () => resolve(out));
        c.on('error', reject);
        setTimeout(() => reject(new Error('timeout')), 5000).unref();
      });
      assert.equal(reply, 'got 100000');
    } finally { await plane.stop(); await srv.close(); }
  });

  it('half-close server→client: the server FIN reaches the client, which can still send', async () => {
    let resolveLate: (n: number) => void = () => undefined;
    const late = new Promise<number>((r) => { resolveLate = r; });
    const srv = await rawServer('127.0.1.22', (s) => {
      let n = 0;
      s.end('hello');
      s.on('data', (d) => { n += d.length; });
      s.on('end', () => resolveLate(n));
    });
    const { table, port } = await rrService('tcp', VIP, [`127.0.1.22:${srv.port}`]);
    const plane = await startPlane(table, new TableEngine(table), { tcpIo: io });
    try {
      const got = await new Promise<string>((resolve, reject) => {
        const c = net.connect({ host: VIP, port, allowHalfOpen: true });
        let out = '';
        c.on('data', (d) => { out += d.toString(); });
        c.on('end', () => { c.end('late data after FIN'); resolve(out); });
        c.on('error', reject);
        setTimeout(() => reject(new Error('timeout')), 5000).unref();
      });
      assert.equal(got, 'hello');
      assert.equal(await late, 'late data after FIN'.length);
    } finally { await plane.stop(); await srv.close(); }
  });

  it('urgent data (MSG_OOB) and what follows it arrive, with a FIN right behind them', async () => {
    // The server echoes and half-closes when the client does.
    const srv = await rawServer('127.0.1.24', (s) => { s.on('data', (d) => s.write(d)); s.on('end', () => s.end()); });
    const { table, port } = await rrService('tcp', VIP, [`127.0.1.24:${srv.port}`]);
    const plane = await startPlane(table, new TableEngine(table), { tcpIo: io });
    try {
      // A read stops at the urgent mark: "def" and the FIN must still get through (telnet and FTP's ABOR send urgent data).
      const out = await new Promise<string>((resolve, reject) => {
        execFile('python3', ['-c', [
          'import socket,sys',
          `c=socket.create_connection(("${VIP}", ${port}))`,
          'c.sendall(b"abc"); c.send(b"!", socket.MSG_OOB); c.sendall(b"def"); c.shutdown(socket.SHUT_WR)',
          'c.settimeout(3); got=b""',
          'while True:',
          '  d=c.recv(100)',
          '  if not d: break',
          '  got+=d',
          'sys.stdout.write(got.decode())',
        ].join('\n')], { timeout: 8000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      });
      // The native path reads the urgent byte in line (SO_OOBINLINE); Node's sockets skip it.
      if (io === 'native') assert.equal(out, 'abc!def');
      else assert.equal(out.replace('!', ''), 'abcdef');
    } finally { await plane.stop(); await srv.close(); }
  });

  it('urgent data from the real server reaches the client in line, with what follows it', async () => {
    // A Python server (Node cannot send MSG_OOB): "abc", an urgent "!", "def", then its FIN.
    const server = execFile('python3', ['-u', '-c', [
      'import socket,sys',
      's=socket.socket(); s.bind(("127.0.1.25", 0)); s.listen(1)',
      'print(s.getsockname()[1])',
      'c,_=s.accept()',
      'c.sendall(b"abc"); c.send(b"!", socket.MSG_OOB); c.sendall(b"def"); c.shutdown(socket.SHUT_WR)',
      'c.settimeout(3)',
      'while c.recv(100): pass',
    ].join('\n')], { timeout: 10_000 });
    try {
      const sport = await new Promise<number>((resolve, reject) => {
        server.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        server.once('error', reject);
      });
      const { table, port } = await rrService('tcp', VIP, [`127.0.1.25:${sport}`]);
      const plane = await startPlane(table, new TableEngine(table), { tcpIo: io });
      try {
        const got = await new Promise<string>((resolve, reject) => {
          let out = '';
          const c = net.connect({ host: VIP, port });
          c.on('data', (d) => { out += d.toString(); });
          c.on('end', () => { c.end(); resolve(out); });
          c.on('error', reject);
          setTimeout(() => reject(new Error(`timeout, got '${out}'`)), 5000).unref();
        });
        // The native path sets SO_OOBINLINE on the real server's socket when the urgent byte is
        // signalled, so the byte travels in line; Node's sockets skip it.
        if (io === 'native') assert.equal(got, 'abc!def');
        else assert.equal(got.replace('!', ''), 'abcdef');
      } finally { await plane.stop(); }
    } finally { server.kill(); }
  });

  it('resets propagate both ways', async () => {
    let serverSaw: (e: string) => void = () => undefined;
    const serverEvent = new Promise<string>((r) => { serverSaw = r; });
    let nconn = 0;
    const srv = await rawServer('127.0.1.23', (s) => {
      if (++nconn === 1) { s.on('data', () => s.resetAndDestroy()); return; }
      s.on('data', (d) => { if (d.toString().startsWith('RST')) s.resetAndDestroy(); });
      s.on('error', (e: NodeJS.ErrnoException) => serverSaw(e.code ?? 'error'));
      s.on('close', () => serverSaw('close'));
    });
    const { table, port, k } = await rrService('tcp', VIP, [`127.0.1.23:${srv.port}`]);
    const plane = await startPlane(table, new TableEngine(table), { tcpIo: io });
    try {
      // server resets -> client sees ECONNRESET
      const code = await new Promise<string>((resolve) => {
        const c = net.connect({ host: VIP, port });
        c.on('connect', () => c.write('RST please'));
        c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        c.on('close', () => resolve('close-without-error'));
      });
      assert.equal(code, 'ECONNRESET');
      // client resets -> server sees ECONNRESET
      await new Promise<void>((resolve) => {
        const c = net.connect({ host: VIP, port });
        c.on('connect', () => { c.write('hi'); setTimeout(() => { c.resetAndDestroy(); resolve(); }, 100); });
      });
      assert.equal(await serverEvent, 'ECONNRESET');
      const l = plane.listenerOf(table.getService(k)!) as TcpServiceListener;
      await until(() => l.sessionCount === 0, 3000, 'sessions gone');
      assert.equal(l.counters.serverResets, 1);
      assert.equal(l.counters.clientResets, 1);
    } finally { await plane.stop(); await srv.close(); }
  });

  it('a refused connect is retried on the next real server; when all refuse the client is reset', async () => {
    const table = makeTable();
    const port = await freePort(VIP);
    const dead1 = await freePort('127.0.1.31');
    const dead2 = await freePort('127.0.1.32');
    const k = key('tcp', `${VIP}:${port}`);
    table.addService(svcCfg(k, 'rr'));
    table.addDest(k, destCfg(`127.0.1.31:${dead1}`));
    table.addDest(k, destCfg(`${backends[2].host}:${backends[2].port}`));
    const plane = await startPlane(table, new TableEngine(table), { tcpIo: io });
    try {
      for (let i = 0; i < 4; i++) assert.equal(backendOf(await curl(['-H', 'Connection: close', `http://${VIP}:${port}/`])), 'c');
      const l = plane.listenerOf(table.getService(k)!) as TcpServiceListener;
      // List [c, dead] (newest first). rr: conn 1 -> c; then the cursor sits on c, so every later
      // connection tries dead first and its retry (the scheduler again, dead excluded) lands on c.
      assert.equal(l.counters.retries, 3);
      assert.equal(l.counters.connectFailures, 3);
      table.deleteDest(k, destCfg(`${backends[2].host}:${backends[2].port}`).addr, backends[2].port);
      table.addDest(k, destCfg(`127.0.1.32:${dead2}`));
      await assert.rejects(curl([`http://${VIP}:${port}/`]));
      assert.equal(l.counters.gaveUp, 1);
      const svc = table.getService(k)!;
      await until(() => svc.destinations.every((d) => d.activeConns + d.inactConns === 0), 3000, 'conns unbound');
    } finally { await plane.stop(); }
  });

  it('a connect that times out is retried on the next real server', async () => {
    const hole = await startBlackhole('127.0.1.41');
    const blackPort = hole.port;
    try {
      const { table, port, k } = await rrService('tcp', VIP, [`127.0.1.41:${blackPort}`]);
      table.addDest(k, destCfg(`${backends[0].host}:${backends[0].port}`));
      const plane = await startPlane(table, new TableEngine(table), { tcpIo: io,
        serviceSettings: () => ({ connectTimeoutMs: 300 }),
      });
      try {
        const t0 = Date.now();
        const names: string[] = [];
        for (let i = 0; i < 2; i++) names.push(backendOf(await curl(['-H', 'Connection: close', `http://${VIP}:${port}/`])));
        assert.deepEqual(names, ['a', 'a']);
        const l = plane.listenerOf(table.getService(k)!) as TcpServiceListener;
        assert.equal(l.counters.connectTimeouts, 1);
        assert.ok(Date.now() - t0 < 4000);
      } finally { await plane.stop(); }
    } finally { hole.close(); }
  });

  it('an idle connection is closed after the tcp timeout', async () => {
    const srv = await rawServer('127.0.1.24', () => undefined);
    const { table, port, k } = await rrService('tcp', VIP, [`127.0.1.24:${srv.port}`]);
    const engine = new TableEngine(table);
    engine.timeouts = { tcp: 1, tcpfin: 1, udp: 1 };
    const plane = await startPlane(table, engine, { tcpIo: io });
    try {
      const t0 = Date.now();
      await new Promise<void>((resolve, reject) => {
        const c = net.connect({ host: VIP, port });
        c.on('close', () => resolve());
        c.on('error', () => undefined);
        setTimeout(() => reject(new Error('not closed')), 5000).unref();
      });
      const dt = Date.now() - t0;
      assert.ok(dt >= 900 && dt < 3000, `closed after ${dt} ms`);
      assert.equal((plane.listenerOf(table.getService(k)!) as TcpServiceListener).counters.idleTimeouts, 1);
    } finally { await plane.stop(); await srv.close(); }
  });
});
