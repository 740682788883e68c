import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startApiServer } from './server.js';
import { makeTestDirector } from './testing.js';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI. */
function makePki(dir: string): Record<string, Buffer> | undefined {
  const run = (...args: string[]) => spawnSync('openssl', args, { cwd: dir, stdio: 'pipe' }).status === 0;
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  const ok = run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=tsvs test CA')
    && run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1')
    && run('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '1', '-extfile', 'san.ext')
    && run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'cli.key', '-out', 'cli.csr', '-subj', '/CN=operator')
    && run('x509', '-req', '-in', 'cli.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cli.pem', '-days', '1')
    && run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '1', '-subj', '/CN=stranger');
  if (!ok) return undefined;
  return Object.fromEntries(['ca.pem', 'srv.key', 'srv.pem', 'cli.key', 'cli.pem', 'other.key', 'other.pem'].map((f) => [f, readFileSync(join(dir, f))]));
}

function get(url: string, opts: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/v1/timeouts', url), { ...opts, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end();
  });
}

test('mTLS: a client certificate signed by the client CA is required (https, requestCert + rejectUnauthorized)', async (t) => {
  if (spawnSync('openssl', ['version']).status !== 0) { t.skip('openssl CLI not installed: cannot make test certificates'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-api-tls-'));
  try {
    const pki = makePki(dir);
    if (!pki) { t.skip('openssl could not make test certificates'); return; }
    const { director } = await makeTestDirector();
    const server = await startApiServer(director, { listen: '127.0.0.1:0', tls: { cert: pki['srv.pem'], key: pki['srv.key'], clientCa: pki['ca.pem'] }, log: () => {} });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(await get(server.url, { ca: pki['ca.pem'], cert: pki['cli.pem'], key: pki['cli.key'] }), 200);
      await assert.rejects(get(server.url, { ca: pki['ca.pem'] }));
      // A self-signed certificate (not from the client CA) fails too.
      await assert.rejects(get(server.url, { ca: pki['ca.pem'], cert: pki['other.pem'], key: pki['other.key'] }));
    } finally { await server.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
