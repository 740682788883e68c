// The proxy engine's retry after a failed connect: the next attempt of the same client connection
// must not go back to a destination that failed it. The lab's scheduler always takes the first
// destination that is not OVERLOADed, as lc or sh would keep choosing the one that just lost its
// conn, so a retry that lost its exclusion would pick the failed one again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import { DEST_F_EXCLUDED, DEST_F_OVERLOAD } from '../../core/service/types.js';
import { lab } from '../../core/conn/testing.js';
import { IpvsEngine } from './ipvs-engine.js';

const VIP = '198.18.0.1:80';

function setup(conn_reuse_mode: number) {
  const l = lab({ sysctls: { conn_reuse_mode } });
  const k = l.service('tcp', VIP);
  for (const rs of ['10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80']) l.dest(k, rs, { method: 'masq' });
  const engine = new IpvsEngine(l.ipvs, l.table);
  const svc = l.table.getService(k)!;
  // In the service's list order (the newest first, as in IPVS): the order the lab's scheduler tries.
  const [a, b, c] = svc.destinations;
  const flow = { clientIp: '192.0.2.10', clientAddr: parseIp('192.0.2.10')!, clientPort: 40000, vip: '198.18.0.1', vport: 80 };
  return { l, engine, svc, flow, a, b, c };
}

describe('IpvsEngine retry after a failed connect', () => {
  it('goes to the next destination, then the one after, then gives up; OVERLOAD is left as it was (conn_reuse_mode=1, spec §2.9)', () => {
    const { engine, svc, flow, a, b, c } = setup(1);
    const first = engine.open(svc, 'tcp', flow, 0);
    assert.ok(typeof first !== 'string');
    assert.equal(first.dest, a);
    // The retry's SYN finds the failed attempt's entry (CLOSE) and expires it, which unbinds a:
    // the exclusion must still hold for the scheduling that follows.
    const second = first.retry();
    assert.ok(second && !(second instanceof Promise));
    assert.equal(second.dest, b, 'not the destination that just failed');
    const third = second.retry();
    assert.ok(third && !(third instanceof Promise));
    assert.equal(third.dest, c);
    assert.equal(third.retry(), undefined, 'every destination failed this client connection');
    assert.deepEqual([a, b, c].map((d) => d.flags & DEST_F_OVERLOAD), [0, 0, 0]);
    // The exclusion lives only inside each retry (a threshold's OVERLOAD around it: src/core/conn/ipvs-exclude.test.ts).
    assert.deepEqual([a, b, c].map((d) => d.flags & DEST_F_EXCLUDED), [0, 0, 0]);
  });
});
