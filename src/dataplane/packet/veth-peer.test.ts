// The rtnetlink reply parser and the egress check of veth-peer.ts (the request itself runs against
// the kernel in test/packet/veth-peer.e2e.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { macOfLinkReply, plainEgress } from './veth-peer.js';

/** An RTM_NEWLINK message: nlmsghdr, ifinfomsg, then the attributes (type, payload), 4-byte aligned. */
function reply(attrs: ReadonlyArray<readonly [number, number[]]>, type = 16): Uint8Array {
  const parts: number[] = [];
  for (const [t, payload] of attrs) {
    const len = 4 + payload.length;
    parts.push(len & 0xff, len >> 8, t & 0xff, t >> 8, ...payload);
    while (parts.length % 4) parts.push(0);
  }
  const b = new Uint8Array(32 + parts.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, b.length, true);
  dv.setUint16(4, type, true);
  b.set(parts, 32);
  return b;
}
const MAC = [2, 0, 0, 0, 0xa, 4];

test('macOfLinkReply finds IFLA_ADDRESS among the attributes (after an odd-length one)', () => {
  const b = reply([[3, [...Buffer.from('r0\0')]], [1, MAC], [4, [0xdc, 5, 0, 0]]]);
  assert.deepEqual(Array.from(macOfLinkReply(b, b.length) ?? []), MAC);
});

test('macOfLinkReply: no MAC from a non-Ethernet address, another message type, or a truncated or malformed reply', () => {
  const ok = reply([[1, MAC]]);
  assert.equal(macOfLinkReply(reply([[1, [1, 2, 3, 4]]]), 36), undefined, 'a 4-byte address (a tunnel)');
  assert.equal(macOfLinkReply(reply([[1, MAC]], 2), ok.length), undefined, 'NLMSG_ERROR');
  // The attribute ends at byte 42 (its padding after it): any cut before that loses the MAC.
  for (let n = 0; n < 42; n++) assert.equal(macOfLinkReply(ok, n), undefined, `cut at ${n}`);
  assert.deepEqual(Array.from(macOfLinkReply(ok, 42) ?? []), MAC);
  const bad = reply([[3, [0, 0, 0, 0]], [1, MAC]]);
  bad[32] = 2; // an attribute shorter than its own header
  assert.equal(macOfLinkReply(bad, bad.length), undefined);
  // Random bytes after a valid header never throw.
  for (let i = 0; i < 2000; i++) {
    const r = reply([]);
    const junk = Uint8Array.from({ length: 64 }, () => Math.floor(Math.random() * 256));
    const b = new Uint8Array(r.length + junk.length);
    b.set(r);
    b.set(junk, r.length);
    new DataView(b.buffer).setUint32(0, b.length, true);
    const mac = macOfLinkReply(b, b.length);
    assert.ok(mac === undefined || mac.length === 6);
  }
});

test('plainEgress: only the root noqueue; a shaping qdisc or a clsact (tc egress filters) on that device is not plain', () => {
  const q = (dev: string, kind: string) => ({ dev, kind });
  assert.equal(plainEgress([q('l1', 'noqueue'), q('l0', 'clsact')], 'l1'), true);
  assert.equal(plainEgress([q('l1', 'noqueue'), q('l1', 'clsact')], 'l1'), false);
  assert.equal(plainEgress([q('l1', 'tbf')], 'l1'), false);
  assert.equal(plainEgress({}, 'l1'), false);
});
