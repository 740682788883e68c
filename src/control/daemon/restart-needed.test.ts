import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema, type ConfigInput } from '../config/schema.js';
import { restartNeeded } from './restart-needed.js';

const cfg = (dataplane: ConfigInput['dataplane'] = {}, sysctl: ConfigInput['sysctl'] = {}) => configSchema.parse({ dataplane, sysctl });

test('the proxy plane\'s per-reconcile settings reload; its start-only ones, the table size and the listeners need a restart', () => {
  const cur = cfg();
  assert.deepEqual(restartNeeded(cur, cfg()), []);
  assert.deepEqual(restartNeeded(cur, cfg({ proxy: { connectTimeout: 2, retries: 3, proxyProtocolTrusted: ['10.0.0.0/8'] } })), []);
  assert.deepEqual(restartNeeded(cur, cfg({ proxy: { workers: 2, tcpIo: 'node', maxUdpSockets: 100 } })),
    ['dataplane.proxy.workers', 'dataplane.proxy.tcpIo', 'dataplane.proxy.maxUdpSockets']);
  assert.deepEqual(restartNeeded(cur, cfg({ maxConnections: 2048 })), ['dataplane.maxConnections']);
  assert.deepEqual(restartNeeded(cur, cfg({ packet: { offload: 'xdp' } }, { lblc_expiration: 30 })), ['dataplane.packet', 'sysctl.lblc_expiration']);
});
