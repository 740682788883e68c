// Ipvs.inbound's `exclude` (the proxy plane's retry after a failed connect): the destinations are
// skipped by the scheduler for that one call, and the real OVERLOAD state (u_threshold/l_threshold,
// spec §2.3) is whatever binding and unbinding made it, also when they change it during the call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEST_F_OVERLOAD, SVC_F_PERSISTENT } from '../service/types.js';
import type { InResult } from './ipvs-types.js';
import { RST, SYN, lab, tcp } from './testing.js';

const VIP = '198.18.0.1:80';
const CLIENT = '192.0.2.10';

/** The destination a verdict forwards to (undefined for any other verdict). */
const destOf = (r: InResult) => (r.kind === 'forward' ? r.dest : undefined);

describe('Ipvs.inbound with destinations excluded', () => {
  it('skips them for the scheduling only, and leaves them as they were', () => {
    const l = lab();
    const k = l.service('tcp', VIP);
    const b = l.dest(k, '10.0.0.3:80');
    const a = l.dest(k, '10.0.0.2:80'); // the newest is first in list order: the stand-in scheduler's choice
    assert.equal(destOf(l.ipvs.inbound(tcp(`${CLIENT}:40000`, VIP, SYN))), a);
    assert.equal(destOf(l.ipvs.inbound(tcp(`${CLIENT}:40001`, VIP, SYN), [a])), b);
    assert.equal(a.isSkipped, false);
    assert.equal(destOf(l.ipvs.inbound(tcp(`${CLIENT}:40002`, VIP, SYN))), a, 'a is scheduled again after the call');
  });

  it('an OVERLOAD that binding sets during the call stays set (a persistent template points at the excluded destination)', () => {
    const l = lab();
    const k = l.service('tcp', VIP, { flags: SVC_F_PERSISTENT, timeoutS: 300 });
    l.dest(k, '10.0.0.3:80', { method: 'masq' });
    const a = l.dest(k, '10.0.0.2:80', { method: 'masq', uThreshold: 1 }); // first in list order: the template goes here
    assert.equal(destOf(l.ipvs.inbound(tcp(`${CLIENT}:40000`, VIP, SYN))), a);
    assert.equal(a.flags & DEST_F_OVERLOAD, DEST_F_OVERLOAD, 'one conn reaches u_threshold 1');
    // The real server resets; the entry (CLOSE, 10 s) expires, the template (300 s) stays; OVERLOAD clears.
    l.ipvs.outbound(tcp('10.0.0.2:80', `${CLIENT}:40000`, RST));
    for (let i = 0; i < 15; i++) l.advance(1000);
    assert.equal(a.totalConns, 0);
    assert.equal(a.flags & DEST_F_OVERLOAD, 0);
    // A call that excludes a: persistence binds the new conn to a all the same (the proxy engine
    // then drops it), and binding reaches u_threshold inside the call. That OVERLOAD is real.
    assert.equal(destOf(l.ipvs.inbound(tcp(`${CLIENT}:40001`, VIP, SYN), [a])), a);
    assert.equal(a.totalConns, 1);
    assert.equal(a.flags & DEST_F_OVERLOAD, DEST_F_OVERLOAD, 'the threshold OVERLOAD set during the call was lost');
  });
});
