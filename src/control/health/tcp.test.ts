import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpChecker } from './tcp.js';
import { activeHandles, blackholeTcpPort, closedTcpPort, handlesSettle, loopback, tcpServer, within } from './test-helpers.js';

test('TCP_CHECK is up when the handshake completes, and closes the socket (spec §7.3 TCP_CHECK)', async () => {
  let accepted = 0;
  const srv = await tcpServer(() => accepted++);
  try {
    const c = new TcpChecker(loopback(srv.port));
    assert.equal(c.describe(), `TCP_CHECK 127.0.0.1:${srv.port}`);
    const r = await c.check(within(5000));
    assert.equal(r.ok, true);
    assert.equal(r.detail, `TCP connect to 127.0.0.1:${srv.port}: connected`);
    assert.ok(r.durationMs >= 0);
    const deadline = Date.now() + 3000;
    while (accepted === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.equal(accepted, 1);
  } finally {
    await srv.close();
  }
});

test('TCP_CHECK fails with "connection refused" on a closed port (spec §7.3 TCP_CHECK)', async () => {
  const port = await closedTcpPort();
  const r = await new TcpChecker(loopback(port)).check(within(5000));
  assert.equal(r.ok, false);
  assert.equal(r.detail, `TCP connect to 127.0.0.1:${port}: connection refused`);
});

test('TCP_CHECK fails with "timed out" when the handshake does not complete in time (connect_timeout, spec §7.3)', async (t) => {
  const bh = await blackholeTcpPort();
  if (!bh) return t.skip('python3 is missing: cannot build a listener with a full accept queue');
  try {
    const r = await new TcpChecker(loopback(bh.port)).check(within(300));
    assert.equal(r.ok, false);
    assert.equal(r.detail, `TCP connect to 127.0.0.1:${bh.port}: timed out`);
    assert.ok(r.durationMs >= 200 && r.durationMs < 10000, `durationMs ${r.durationMs}`);
  } finally {
    await bh.close();
  }
});

test('TCP_CHECK with an already aborted signal fails at once as "aborted" and opens nothing', async () => {
  const c = new AbortController();
  c.abort(new Error('stopped'));
  const r = await new TcpChecker(loopback(9)).check(c.signal);
  assert.deepEqual({ ok: r.ok, detail: r.detail }, { ok: false, detail: 'TCP connect to 127.0.0.1:9: aborted' });
});

test('TCP_CHECK leaves no socket behind after success and failure', async () => {
  const srv = await tcpServer((s) => s.end());
  const closed = await closedTcpPort();
  const baseline = activeHandles();
  await new TcpChecker(loopback(srv.port)).check(new AbortController().signal);
  await new TcpChecker(loopback(closed)).check(new AbortController().signal);
  const left = await handlesSettle(baseline);
  await srv.close();
  assert.ok(left <= baseline, `${left} handles left, ${baseline} before`);
});

test('TCP_CHECK rejects an out-of-range port at construction', () => {
  assert.throws(() => new TcpChecker(loopback(0)), /Cannot create TCP_CHECK as 'port' must be an integer in 1\.\.65535: current value is 0/);
  assert.throws(() => new TcpChecker(loopback(70000)), RangeError);
});
