// TunDevice (IFF_TUN | IFF_NO_PI) in a network namespace: a packet written into the device reaches
// a local socket, and a packet the kernel routes into it can be read back.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fixture, nsRun, packetSkipReason, sh } from './helpers.js';

const skip = packetSkipReason();
const NS = 'tsvs-pio-tun';

before(() => {
  if (skip) return;
  sh(`ip netns del ${NS} 2>/dev/null || true; ip netns add ${NS} && ip -n ${NS} link set lo up`);
});
after(() => {
  if (!skip) sh(`ip netns del ${NS} 2>/dev/null || true`);
});

test('TunDevice: write hands an IP packet to the kernel; read returns what the kernel routes into the device', { skip }, async () => {
  const r = await nsRun(NS, [process.execPath, fixture('tun-check'), 'tsvspio0']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { received: 'into-the-tun', readBack: { proto: 17, dport: 7778, payload: 'back-through-tun' } });
});
