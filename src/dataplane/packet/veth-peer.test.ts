// The rtnetlink reply parser and the egress checks of veth-peer.ts (the requests themselves run
// against the kernel in test/packet/veth-peer.e2e.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../core/random.js';
import { hasQdiscs, nftEgressDevices, parseLinkReply } from './veth-peer.js';

type Attr = readonly [number, readonly number[]];
/** Attributes (type, payload), each 4-byte aligned. */
function attrs(list: readonly Attr[]): number[] {
  const out: number[] = [];
  for (const [t, payload] of list) {
    const len = 4 + payload.length;
    out.push(len & 0xff, len >> 8, t & 0xff, t >> 8, ...payload);
    while (out.length % 4) out.push(0);
  }
  return out;
}
/** An RTM_NEWLINK message: nlmsghdr, ifinfomsg, then the attributes. */
function reply(list: readonly Attr[], type = 16): Uint8Array {
  const body = attrs(list);
  const b = new Uint8Array(32 + body.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, b.length, true);
  dv.setUint16(4, type, true);
  b.set(body, 32);
  return b;
}
const MAC = [2, 0, 0, 0, 0xa, 4];
const MTU_1500: Attr = [4, [0xdc, 5, 0, 0]];
const IFLA_XDP = 43, NESTED = 0x8000;
const xdp = (attached: number): Attr => [IFLA_XDP | NESTED, attrs([[2, [attached]]])];

test('parseLinkReply reads IFLA_ADDRESS, IFLA_MTU and whether IFLA_XDP says a program is attached (after an odd-length attribute)', () => {
  const b = reply([[3, [...Buffer.from('r0\0')]], [1, MAC], MTU_1500, xdp(0)]);
  const p = parseLinkReply(b, b.length);
  assert.deepEqual(p && [Array.from(p.mac), p.mtu, p.xdp], [MAC, 1500, false]);
  for (const mode of [1, 2, 3]) {
    const x = reply([[1, MAC], MTU_1500, xdp(mode)]);
    assert.equal(parseLinkReply(x, x.length)?.xdp, true, `XDP_ATTACHED ${mode}`);
  }
});

test('parseLinkReply: nothing from a non-Ethernet address, a missing MTU, another message type, or a truncated or malformed reply', () => {
  const ok = reply([[1, MAC], MTU_1500]);
  assert.equal(parseLinkReply(reply([[1, [1, 2, 3, 4]], MTU_1500]), 44), undefined, 'a 4-byte address (a tunnel)');
  assert.equal(parseLinkReply(reply([[1, MAC]]), 44), undefined, 'no MTU');
  assert.equal(parseLinkReply(reply([[1, MAC], MTU_1500], 2), ok.length), undefined, 'NLMSG_ERROR');
  // The MTU attribute ends at byte 52: any cut before that loses it (or the MAC before it).
  for (let n = -1; n < 52; n++) assert.equal(parseLinkReply(ok, n), undefined, `cut at ${n}`);
  assert.ok(parseLinkReply(ok, 52));
  assert.ok(parseLinkReply(ok, 1 << 20), 'a length past the buffer is clamped');
  const bad = reply([[3, [0, 0, 0, 0]], [1, MAC], MTU_1500]);
  bad[32] = 2; // an attribute shorter than its own header
  assert.equal(parseLinkReply(bad, bad.length), undefined);
  // Random bytes after a valid header never throw (seeded: a failure can be replayed).
  const rnd = new SeededRandom(7);
  for (let i = 0; i < 2000; i++) {
    const junk = Array.from({ length: 64 }, () => rnd.nextU32() & 0xff);
    const b = reply([]);
    const all = new Uint8Array(b.length + junk.length);
    all.set(b);
    all.set(junk, b.length);
    new DataView(all.buffer).setUint32(0, all.length, true);
    const p = parseLinkReply(all, all.length);
    assert.ok(p === undefined || p.mac.length === 6);
  }
});

test('hasQdiscs: only the root noqueue is none; a clsact (tc egress filters) or a shaping qdisc on that device is', () => {
  const q = (dev: string, kind: string) => ({ dev, kind });
  assert.equal(hasQdiscs([q('l1', 'noqueue'), q('l0', 'clsact')], 'l1'), false);
  assert.equal(hasQdiscs([q('l1', 'noqueue'), q('l1', 'clsact')], 'l1'), true);
  assert.equal(hasQdiscs([q('l1', 'tbf')], 'l1'), true);
  assert.equal(hasQdiscs({}, 'l1'), true, 'unreadable output');
  assert.equal(hasQdiscs([null, q('l1', 'noqueue')], 'l1'), false, 'a null entry');
});

test('nftEgressDevices: the devices of netdev egress chains in `nft list chains` (device, or a devices set), not ingress ones', () => {
  const listing = `table netdev t {
	chain e {
		type filter hook egress device "l1" priority filter; policy accept;
	}
	chain m {
		type filter hook egress devices = { l2, l3 } priority filter + 1; policy accept;
	}
	chain q {
		type filter hook egress devices = { "l5" } priority filter + 2; policy accept;
	}
	chain i {
		type filter hook ingress device "l4" priority filter; policy accept;
	}
}
table inet u {
	chain p {
		type filter hook prerouting priority filter; policy accept;
	}
}
`;
  assert.deepEqual([...nftEgressDevices(listing)].sort(), ['l1', 'l2', 'l3', 'l5']);
  assert.deepEqual([...nftEgressDevices('')], []);
});
