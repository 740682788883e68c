import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { SmtpChecker } from './smtp.js';
import { closedTcpPort, loopback, tcpServer, within } from './test-helpers.js';

// A small SMTP server: a banner, then one reply per command line, as configured.
async function smtpServer(opts: { banner?: string; helo?: string; quit?: string; log?: string[] }) {
  return tcpServer((s: net.Socket) => {
    s.setEncoding('latin1');
    if (opts.banner !== '') s.write(opts.banner ?? '220 mx.example.test ESMTP ready\r\n');
    let buf = '';
    s.on('data', (d: string) => {
      buf += d;
      let eol: number;
      while ((eol = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, eol);
        buf = buf.slice(eol + 2);
        opts.log?.push(line);
        if (line.startsWith('HELO ')) s.write(opts.helo ?? '250 mx.example.test Hello\r\n');
        else if (line === 'QUIT') s.end(opts.quit ?? '221 Bye\r\n');
      }
    });
  });
}

test('SMTP_CHECK: 220 banner, HELO smtpchecker.keepalived.org → 250, QUIT (spec §7.3 SMTP_CHECK)', async () => {
  const log: string[] = [];
  const srv = await smtpServer({ log });
  try {
    const r = await new SmtpChecker({ target: loopback(srv.port) }).check(within(5000));
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.detail, `SMTP check of 127.0.0.1:${srv.port}: banner 220, HELO 250, QUIT answered`);
    assert.deepEqual(log, ['HELO smtpchecker.keepalived.org', 'QUIT']);
  } finally {
    await srv.close();
  }
});

test('SMTP_CHECK reads multi-line replies whole and uses helo_name', async () => {
  const log: string[] = [];
  const srv = await smtpServer({ log, banner: '220-mx.example.test\r\n220-second line\r\n220 ready\r\n', helo: '250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n' });
  try {
    const r = await new SmtpChecker({ target: loopback(srv.port), heloName: 'lb1.example.test' }).check(within(5000));
    assert.equal(r.ok, true, r.detail);
    assert.deepEqual(log, ['HELO lb1.example.test', 'QUIT']);
  } finally {
    await srv.close();
  }
});

test('SMTP_CHECK fails on a wrong banner, a refused HELO, a silent server and a refused connection', async () => {
  const closed = await closedTcpPort();
  const rows: { server?: Parameters<typeof smtpServer>[0]; port?: number; ms?: number; detail: string }[] = [
    { server: { banner: '554 no service\r\n' }, detail: 'banner: expected 220, got "554 no service"' },
    { server: { helo: '501 bad HELO\r\n' }, detail: 'HELO: expected 250, got "501 bad HELO"' },
    { server: { banner: '' }, ms: 300, detail: 'timed out' },
    { port: closed, detail: 'connection refused' },
  ];
  for (const row of rows) {
    const srv = row.server ? await smtpServer(row.server) : undefined;
    const port = srv?.port ?? row.port!;
    try {
      const r = await new SmtpChecker({ target: loopback(port) }).check(within(row.ms ?? 5000));
      assert.equal(r.ok, false, row.detail);
      assert.equal(r.detail, `SMTP check of 127.0.0.1:${port}: ${row.detail}`);
    } finally {
      await srv?.close();
    }
  }
});

test('SMTP_CHECK fails when the server closes before answering QUIT', async () => {
  const srv = await tcpServer((s) => {
    s.write('220 hi\r\n');
    s.once('data', () => s.write('250 ok\r\n', () => s.once('data', () => s.end())));
  });
  try {
    const r = await new SmtpChecker({ target: loopback(srv.port) }).check(within(5000));
    assert.equal(r.ok, false);
    assert.equal(r.detail, `SMTP check of 127.0.0.1:${srv.port}: connection closed by the server`);
  } finally {
    await srv.close();
  }
});

test('SMTP_CHECK rejects a helo_name with spaces', () => {
  assert.throws(() => new SmtpChecker({ target: loopback(25), heloName: 'a b' }), /'heloName' must be printable ASCII without spaces/);
});
