// The daemon's API and metrics listeners: an --api address that metrics.listen already names is
// refused before anything listens, and a metrics listener that cannot start leaves no API open.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { configSchema } from '../config/schema.js';
import { startListeners } from './listeners.js';
import { makeTestDirector } from './testing.js';

/** n distinct ports free on 127.0.0.1: all are held until the last is found, because the kernel may
 * hand a port it just closed out again. */
async function freePorts(n: number): Promise<number[]> {
  const held = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => r(s));
  })));
  const ports = held.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
/** True when something accepts on 127.0.0.1:port. */
const listening = (port: number) => new Promise<boolean>((resolve) => {
  const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); }).on('error', () => resolve(false));
});
const log = () => {};

test('--api naming the metrics.listen address is refused, and nothing is left listening', async () => {
  const { director } = await makeTestDirector();
  const [port] = await freePorts(1);
  const cfg = configSchema.parse({ metrics: { listen: `127.0.0.1:${port}` } });
  await assert.rejects(startListeners(director, cfg, { apiOn: true, apiListen: `127.0.0.1:${port}`, log }),
    new RegExp(`Cannot start the API on 127\\.0\\.0\\.1:${port}: metrics\\.listen names the same address`));
  assert.equal(await listening(port), false);
});

test('a metrics listener that cannot start closes the API listener it started first', async () => {
  const { director } = await makeTestDirector();
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const busyPort = (busy.address() as net.AddressInfo).port;
  const [apiPort] = await freePorts(1);
  try {
    const cfg = configSchema.parse({ metrics: { listen: `127.0.0.1:${busyPort}` } });
    await assert.rejects(startListeners(director, cfg, { apiOn: true, apiListen: `127.0.0.1:${apiPort}`, log }), /EADDRINUSE/);
    assert.equal(await listening(apiPort), false, 'the API listener was closed again');
  } finally {
    busy.close();
  }
});

test('with metrics.listen, the API listener serves the API and the metrics listener only the metrics', async () => {
  const { director } = await makeTestDirector();
  const [apiPort, mPort] = await freePorts(2);
  const cfg = configSchema.parse({ metrics: { listen: `127.0.0.1:${mPort}` } });
  const l = await startListeners(director, cfg, { apiOn: true, apiListen: `127.0.0.1:${apiPort}`, log });
  try {
    const status = async (port: number, path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
    assert.deepEqual([await status(apiPort, '/v1/services'), await status(apiPort, '/metrics')], [200, 404]);
    assert.deepEqual([await status(mPort, '/metrics'), await status(mPort, '/v1/services')], [200, 404]);
  } finally {
    await l.api?.close();
    await l.metrics?.close();
  }
});
