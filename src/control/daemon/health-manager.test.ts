// HealthManager against real loopback servers: health decides the effective table, and a reload
// keeps the state of checks that did not change (spec §7.2; keepalived carries checker state).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { loadConfigText } from '../config/load.js';
import { toTable } from '../config/to-table.js';
import { HealthManager } from './health-manager.js';

function listen(host: string): Promise<net.Server> {
  return new Promise((r) => { const s = net.createServer((c) => c.destroy()); s.listen(0, host, () => r(s)); });
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

function cfg(rs: Array<[string, number]>): ReturnType<typeof toTable> {
  const yaml = `services:
  - protocol: tcp
    address: 127.0.0.1
    port: 9
    scheduler: rr
    forwarding: masq
    health: { delayLoop: 0.1, connectTimeout: 1, retry: 0 }
    realServers:
${rs.map(([h, p]) => `      - { address: ${h}, port: ${p}, checks: [{ type: tcp }] }`).join('\n')}
`;
  return toTable(loadConfigText(yaml, 't.yaml'));
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('health removes a dead real server from the effective table, and a reload that adds another keeps it out', { timeout: 30_000 }, async () => {
  const a = await listen('127.0.0.31');
  const dead = await listen('127.0.0.32');
  const deadPort = portOf(dead);
  await new Promise((r) => dead.close(r));
  const c = await listen('127.0.0.33');
  let changes = 0;
  const hm = new HealthManager({ onChange: () => { changes++; }, log: () => {} });
  try {
    const first = cfg([['127.0.0.31', portOf(a)], ['127.0.0.32', deadPort]]);
    hm.sync(first);
    const dests = (c0: ReturnType<typeof toTable>) => hm.effective(c0)[0].dests.map((d) => `${d.addr.bytes[3]}`);
    await until(() => dests(first).length === 1);
    assert.deepEqual(dests(first), ['31'], 'the dead server is out');
    assert.ok(changes >= 1);
    // Reload adding .33: .32 must stay out at once (its check state carried over), .33 comes in.
    const second = cfg([['127.0.0.31', portOf(a)], ['127.0.0.32', deadPort], ['127.0.0.33', portOf(c)]]);
    hm.sync(second);
    assert.deepEqual(dests(second), ['31', '33'], 'state carried over the reload: .32 still down, the new .33 starts up');
  } finally {
    await hm.stop();
    await new Promise((r) => a.close(r));
    await new Promise((r) => c.close(r));
  }
});
