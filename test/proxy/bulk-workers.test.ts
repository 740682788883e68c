// A 1 GiB transfer through the proxy with sha256 on both ends, and the worker-process pool:
// the primary schedules and counts, workers pipe, and the counters still add up exactly.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { ServiceTable } from '../../src/core/service/service-table.js';
import { startDemoBackend } from '../../src/dataplane/proxy/demo.js';
import { startProxyPool } from '../../src/dataplane/proxy/workers.js';
import { backendOf, curl, destCfg, freePort, ipvsEngine, key, makeTable, rawServer, startPlane, svcCfg, until, rrService } from './helpers.js';

const VIP = '127.0.6.1';
const engineFor = (t: ServiceTable) => ipvsEngine(t, 5);

describe('bulk transfer and workers', () => {
  it('1 GiB server -> client and 256 MiB client -> server arrive byte for byte (sha256 both ends)', { timeout: 180_000 }, async () => {
    const block = randomBytes(1 << 20);
    const DOWN = 1024; // MiB
    const UP = 256;
    let serverUpHash = '';
    let serverDownHash = '';
    const srv = await rawServer('127.0.6.11', (s) => {
      const h = createHash('sha256');
      const up = createHash('sha256');
      let sent = 0;
      const pump = () => {
        while (sent < DOWN) {
          sent++;
          h.update(block);
          if (!s.write(block)) { s.once('drain', pump); return; }
        }
        serverDownHash = h.digest('hex');
        s.end();
      };
      s.on('data', (d) => up.update(d));
      s.on('end', () => { serverUpHash = up.digest('hex'); });
      pump();
    });
    const { table, port, k } = await rrService('tcp', VIP, [`127.0.6.11:${srv.port}`]);
    const plane = await startPlane(table, engineFor(table));
    try {
      const t0 = Date.now();
      const { down, up, bytes } = await new Promise<{ down: string; up: string; bytes: number }>((resolve, reject) => {
        const c = net.connect({ host: VIP, port, allowHalfOpen: true });
        const h = createHash('sha256');
        const uh = createHash('sha256');
        let bytes = 0;
        let upSent = 0;
        let upHash = '';
        const pumpUp = () => {
          while (upSent < UP) {
            upSent++;
            uh.update(block);
            if (!c.write(block)) { c.once('drain', pumpUp); return; }
          }
          upHash = uh.digest('hex');
          c.end();
        };
        c.on('connect', pumpUp);
        c.on('data', (d) => { bytes += d.length; h.update(d); });
        c.on('end', () => { const down = h.digest('hex'); void until(() => upHash !== '', 60_000, 'upload sent').then(() => resolve({ down, up: upHash, bytes })); });
        c.on('error', reject);
      });
      const secs = (Date.now() - t0) / 1000;
      console.log(`# bulk: ${DOWN} MiB down + ${UP} MiB up in ${secs.toFixed(1)} s (${((DOWN + UP) * 8 / 1024 / secs).toFixed(2)} Gbit/s total)`);
      assert.equal(bytes, DOWN << 20);
      await until(() => serverUpHash !== '', 10_000, 'upload finished');
      assert.equal(down, serverDownHash);
      assert.equal(up, serverUpHash);
      const svc = table.getService(k)!;
      assert.equal(svc.stats.outBytes, DOWN << 20);
      assert.equal(svc.stats.inBytes, UP << 20);
    } finally { await plane.stop(); await srv.close(); }
  });

  it('two worker processes: scheduling and counters stay exact in the primary', { timeout: 60_000 }, async () => {
    const a = await startDemoBackend('a', '127.0.6.21');
    const b = await startDemoBackend('b', '127.0.6.22');
    const echo = await rawServer('127.0.6.23', (s) => { let n = 0; s.on('data', (d) => { n += d.length; }); s.on('end', () => s.end(`got ${n}`)); });
    const table = makeTable();
    const port = await freePort(VIP);
    const port2 = await freePort(VIP);
    const k = key('tcp', `${VIP}:${port}`);
    const k2 = key('tcp', `${VIP}:${port2}`);
    table.addService(svcCfg(k, 'rr'));
    table.addDest(k, destCfg(`${a.host}:${a.port}`));
    table.addDest(k, destCfg(`${b.host}:${b.port}`));
    table.addService(svcCfg(k2, 'rr'));
    table.addDest(k2, destCfg(`127.0.6.23:${echo.port}`));
    // A third service whose first real server refuses: the workers connect, fail and retry.
    const port3 = await freePort(VIP);
    const k3 = key('tcp', `${VIP}:${port3}`);
    table.addService(svcCfg(k3, 'rr'));
    table.addDest(k3, destCfg(`${a.host}:${a.port}`));
    table.addDest(k3, destCfg(`127.0.6.24:${await freePort('127.0.6.24')}`));
    const engine = engineFor(table);
    const pool = await startProxyPool({ table, engine, workers: 2, sweepIntervalMs: 50 });
    try {
      const names: string[] = [];
      for (let i = 0; i < 20; i++) names.push(backendOf(await curl(['-H', 'Connection: close', `http://${VIP}:${port}/`])));
      assert.equal(names.filter((n) => n === 'a').length, 10);
      assert.equal(a.requests() + b.requests(), 20);
      const svc = table.getService(k)!;
      assert.equal(svc.stats.conns, 20);
      await until(() => pool.remoteConns() === 0, 5000, 'workers report every close');
      await until(() => svc.stats.outBytes > 20 * 100, 3000, 'byte counts flushed');
      assert.equal(svc.destinations.reduce((n, d) => n + d.activeConns, 0), 0);
      // half-close through a worker
      const reply = await new Promise<string>((resolve, reject) => {
        const c = net.connect({ host: VIP, port: port2, allowHalfOpen: true });
        let out = '';
        c.on('connect', () => c.end('x'.repeat(70_000)));
        c.on('data', (d) => { out += d.toString(); });
        c.on('end', () => resolve(out));
        c.on('error', reject);
      });
      assert.equal(reply, 'got 70000');
      await until(() => table.getService(k2)!.stats.inBytes === 70_000, 3000, 'in bytes 70000');
      // The workers' own counters reach the primary's (once a second): every refused connect was retried.
      const before = pool.counters().tcp;
      for (let i = 0; i < 4; i++) assert.equal(backendOf(await curl(['-H', 'Connection: close', `http://${VIP}:${port3}/`])), 'a');
      const settled = () => { const t = pool.counters().tcp; return (t.connectFailures ?? 0) > (before.connectFailures ?? 0) && t.retries === t.connectFailures; };
      await until(settled, 3000, 'worker connect failures reported, each retried');
      const after = pool.counters().tcp;
      assert.equal(after.gaveUp ?? 0, 0);
      assert.equal(after.accepted, 20 + 1 + 4, 'accepts counted once (by the primary)');
    } finally { await pool.stop(500); await a.close(); await b.close(); await echo.close(); }
  });
});
