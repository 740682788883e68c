import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendControlRequest, startControlSocket } from './control-socket.js';

function rawExchange(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let d = '';
    s.on('data', (c) => { d += c.toString(); });
    s.on('end', () => resolve(d));
    s.on('error', reject);
    s.write(line);
  });
}

test('control socket round-trips a request and rejects malformed ones without dying', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-ctl-'));
  const path = join(dir, 'ctl.sock');
  const server = await startControlSocket(path, (req) => ({ stdout: req.argv.join(' ') + '\n', stderr: '', exitCode: 0 }));
  try {
    assert.deepEqual(await sendControlRequest(path, { argv: ['-L', '-n'] }), { stdout: '-L -n\n', stderr: '', exitCode: 0 });
    for (const [line, msg] of [['nope\n', 'not JSON'], ['[]\n', 'expected an object'], ['{"argv":[1]}\n', "'argv' must be"], ['{"argv":[],"x":1}\n', "unknown field 'x'"]]) {
      const r = JSON.parse(await rawExchange(path, line));
      assert.equal(r.exitCode, 2);
      assert.match(r.stderr, new RegExp(msg.replace(/[[\]]/g, '\\$&')));
    }
    await assert.rejects(startControlSocket(path, () => ({ stdout: '', stderr: '', exitCode: 0 })), /another tsvs daemon is running/);
  } finally {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sendControlRequest says clearly when no daemon runs', async () => {
  await assert.rejects(sendControlRequest('/nonexistent/tsvs.sock', { argv: ['-L'] }), /no tsvs daemon is running there/);
});

test('control socket survives a throwing handler and an oversized request, and closes both connections', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-ctl-'));
  const path = join(dir, 'ctl.sock');
  const server = await startControlSocket(path, (req) => {
    if (req.argv[0] === 'boom') throw new Error('kaboom');
    return { stdout: 'ok\n', stderr: '', exitCode: 0 };
  });
  try {
    const r = await sendControlRequest(path, { argv: ['boom'] });
    assert.equal(r.exitCode, 255);
    assert.match(r.stderr, /internal error: kaboom/);
    const big = JSON.parse(await rawExchange(path, 'x'.repeat((1 << 20) + 10)));
    assert.equal(big.exitCode, 2);
    assert.match(big.stderr, /too large/);
    assert.deepEqual(await sendControlRequest(path, { argv: ['fine'] }), { stdout: 'ok\n', stderr: '', exitCode: 0 }, 'still serving');
  } finally {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});
