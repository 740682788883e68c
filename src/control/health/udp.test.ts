import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UdpChecker } from './udp.js';
import { activeHandles, closedUdpPort, handlesSettle, loopback, udpServer, within } from './test-helpers.js';

test('UDP_CHECK fails on ICMP port unreachable, seen as ECONNREFUSED on the connected socket (spec §7.3 UDP_CHECK)', async () => {
  const port = await closedUdpPort();
  const r = await new UdpChecker({ target: loopback(port), payload: 'deadbeef' }).check(within(5000));
  assert.equal(r.ok, false);
  assert.equal(r.detail, `UDP probe to 127.0.0.1:${port}: connection refused`);
});

test('UDP_CHECK without require_reply is up when no ICMP error comes back before the timeout', async () => {
  let got: Buffer | undefined;
  const srv = await udpServer((m) => {
    got = m;
    return undefined;
  });
  try {
    const r = await new UdpChecker({ target: loopback(srv.port), payload: 'cafe 0102' }).check(within(300));
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.detail, `UDP probe to 127.0.0.1:${srv.port}: no ICMP unreachable before the timeout`);
    assert.deepEqual(got, Buffer.from([0xca, 0xfe, 0x01, 0x02]));
  } finally {
    await srv.close();
  }
});

test('UDP_CHECK with require_reply: a reply passes, silence fails as timed out', async () => {
  const echo = await udpServer((m) => m);
  const mute = await udpServer(() => undefined);
  try {
    const ok = await new UdpChecker({ target: loopback(echo.port), payload: '01020304', requireReply: true }).check(within(5000));
    assert.equal(ok.ok, true, ok.detail);
    assert.equal(ok.detail, `UDP probe to 127.0.0.1:${echo.port}: reply of 4 bytes`);
    const silent = await new UdpChecker({ target: loopback(mute.port), requireReply: true }).check(within(300));
    assert.equal(silent.ok, false);
    assert.equal(silent.detail, `UDP probe to 127.0.0.1:${mute.port}: timed out`);
  } finally {
    await echo.close();
    await mute.close();
  }
});

test('UDP_CHECK reply rules: min/max_reply_length and reply_data under reply_mask', async () => {
  const srv = await udpServer(() => Buffer.from('a1b2c3d4e5', 'hex'));
  const t = loopback(srv.port);
  const rows = [
    { opts: { minReplyLength: 5, maxReplyLength: 5 }, ok: true },
    { opts: { minReplyLength: 6 }, ok: false, detail: 'reply of 5 bytes outside 6..255' },
    { opts: { maxReplyLength: 4 }, ok: false, detail: 'reply of 5 bytes outside 0..4' },
    { opts: { replyData: 'a1b2' }, ok: true },
    { opts: { replyData: 'a1b3' }, ok: false, detail: 'reply differs from reply_data at byte 1' },
    { opts: { replyData: 'a1b3', replyMask: 'fffe' }, ok: true },
  ];
  try {
    for (const row of rows) {
      const r = await new UdpChecker({ target: t, payload: '00', requireReply: true, ...row.opts }).check(within(5000));
      assert.equal(r.ok, row.ok, `${JSON.stringify(row.opts)}: ${r.detail}`);
      if (row.detail) assert.equal(r.detail, `UDP probe to 127.0.0.1:${srv.port}: ${row.detail}`);
    }
  } finally {
    await srv.close();
  }
});

test('UDP_CHECK closes its socket in every outcome', async () => {
  const srv = await udpServer((m) => m);
  const mute = await udpServer(() => undefined);
  const closed = await closedUdpPort();
  const baseline = activeHandles();
  await new UdpChecker({ target: loopback(srv.port), requireReply: true }).check(new AbortController().signal);
  await new UdpChecker({ target: loopback(closed) }).check(new AbortController().signal);
  await new UdpChecker({ target: loopback(srv.port), payload: '00', requireReply: true, replyData: 'ff' }).check(new AbortController().signal);
  const c = new AbortController();
  setTimeout(() => c.abort(new Error('stop')), 50);
  const stopped = await new UdpChecker({ target: loopback(mute.port), requireReply: true }).check(c.signal);
  assert.equal(stopped.detail, `UDP probe to 127.0.0.1:${mute.port}: aborted`);
  const left = await handlesSettle(baseline);
  await srv.close();
  await mute.close();
  assert.ok(left <= baseline, `${left} handles left, ${baseline} before`);
});

test('UDP_CHECK validates payload hex and reply lengths at construction', () => {
  assert.throws(() => new UdpChecker({ target: loopback(53), payload: 'abc' }), /'payload' must be hex digits in pairs: current value is "abc"/);
  assert.throws(() => new UdpChecker({ target: loopback(53), minReplyLength: 10, maxReplyLength: 5 }), /'maxReplyLength' must be an integer in 10\.\.65535/);
});
