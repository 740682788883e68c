import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type tls from 'node:tls';
import { HttpChecker } from './http.js';
import { loopback, within } from './test-helpers.js';

// A self-signed certificate made at test time with the openssl command; SSL_GET skips without it.
let pem: { key: Buffer; cert: Buffer } | undefined;
let skipReason = '';
let server: https.Server | undefined;
let port = 0;
const sniSeen: (string | false)[] = [];

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-health-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=rs.example.test',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 60000 });
    pem = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } catch (e) {
    skipReason = `openssl is missing or failed (${(e as Error).message.split('\n')[0]}): cannot make a test certificate`;
    return;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  server = https.createServer({ key: pem.key, cert: pem.cert }, (req, res) => {
    res.writeHead(req.url === '/ok' ? 200 : 500).end('secure hello');
  });
  server.on('secureConnection', (s: tls.TLSSocket) => sniSeen.push((s as tls.TLSSocket & { servername: string | false }).servername));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((r) => server!.close(() => r()));
});

test('SSL_GET fetches over TLS with certificate verification off by default, like keepalived (spec §7.3 SSL_GET)', async (t) => {
  if (!pem) return t.skip(skipReason);
  const r = await new HttpChecker({ target: loopback(port), tls: true, urls: [{ path: '/ok', regex: 'secure' }] }).check(within(10000));
  assert.equal(r.ok, true, r.detail);
  assert.equal(r.detail, `SSL_GET https://127.0.0.1:${port}: /ok 200`);
  const bad = await new HttpChecker({ target: loopback(port), tls: true, urls: [{ path: '/fail' }] }).check(within(10000));
  assert.equal(bad.detail, `SSL_GET https://127.0.0.1:${port}: /fail: HTTP status 500 not in 200-299`);
});

test('SSL_GET with CA verification rejects an untrusted certificate and accepts it with the CA', async (t) => {
  if (!pem) return t.skip(skipReason);
  const untrusted = await new HttpChecker({ target: loopback(port), tls: true, verifyCa: true, urls: [{ path: '/ok' }] }).check(within(10000));
  assert.equal(untrusted.ok, false);
  assert.match(untrusted.detail, new RegExp(`^SSL_GET https://127\\.0\\.0\\.1:${port}: /ok: TLS handshake: self[- ]signed certificate`));
  const trusted = await new HttpChecker({ target: loopback(port), tls: true, verifyCa: true, ca: pem.cert, urls: [{ path: '/ok' }] }).check(within(10000));
  assert.equal(trusted.ok, true, trusted.detail);
});

test('SSL_GET sends SNI only with enable_sni: sni_name, else the virtualhost', async (t) => {
  if (!pem) return t.skip(skipReason);
  sniSeen.length = 0;
  const base = { target: loopback(port), tls: true, urls: [{ path: '/ok' }] } as const;
  assert.equal((await new HttpChecker({ ...base, virtualhost: 'www.example.test' }).check(within(10000))).ok, true);
  assert.equal((await new HttpChecker({ ...base, virtualhost: 'www.example.test', enableSni: true }).check(within(10000))).ok, true);
  assert.equal((await new HttpChecker({ ...base, virtualhost: 'www.example.test', enableSni: true, sniName: 'sni.example.test' }).check(within(10000))).ok, true);
  assert.deepEqual(sniSeen, [false, 'www.example.test', 'sni.example.test']);
});
