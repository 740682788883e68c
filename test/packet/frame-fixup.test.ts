// Software completion of partial checksums and TCP segmentation of GSO superframes (design "The
// packet plane", checksum offload lesson), checked against scapy's golden frames and the core's
// independent checksum verifier.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GOLDEN } from '../../src/core/packet/golden-frames.js';
import { fromHex, verifyFrameChecksums } from '../../src/core/packet/testing.js';
import { FIX_OK, FIX_UNSUPPORTED, FrameFixup, type SegmentSink } from '../../src/dataplane/packet/frame-fixup.js';

function withPartialChecksum(hex: string, l4CsumOff: number): Uint8Array {
  const f = fromHex(hex);
  f[l4CsumOff] = 0x12; // a CHECKSUM_PARTIAL frame carries only the pseudo-header seed: anything but the full sum
  f[l4CsumOff + 1] = 0x34;
  return f;
}

test('completeChecksum restores the full TCP checksum of an IPv4 frame (scapy golden in_big)', () => {
  const golden = fromHex(GOLDEN.in_big);
  const f = withPartialChecksum(GOLDEN.in_big, 14 + 20 + 16);
  assert.equal(new FrameFixup().completeChecksum(f, 0, f.length), FIX_OK);
  assert.deepEqual(f, golden);
});

test('completeChecksum restores the full TCP checksum of an IPv6 frame (scapy golden in_big6)', () => {
  const golden = fromHex(GOLDEN.in_big6);
  const f = withPartialChecksum(GOLDEN.in_big6, 14 + 40 + 16);
  assert.equal(new FrameFixup().completeChecksum(f, 0, f.length), FIX_OK);
  assert.deepEqual(f, golden);
});

test('completeChecksum works at an offset inside a larger buffer and leaves ARP alone', () => {
  const golden = fromHex(GOLDEN.in_big);
  const buf = new Uint8Array(4096);
  buf.set(withPartialChecksum(GOLDEN.in_big, 14 + 20 + 16), 100);
  assert.equal(new FrameFixup().completeChecksum(buf, 100, golden.length), FIX_OK);
  assert.deepEqual(buf.subarray(100, 100 + golden.length), golden);
  const arp = fromHex(GOLDEN.in_arpreq);
  assert.equal(new FrameFixup().completeChecksum(arp, 0, arp.length), FIX_UNSUPPORTED);
});

/** Collects segments written into `buf` at 2048-byte slots after `base`. */
function sink(base: number, out: Array<[number, number]>): SegmentSink {
  return { slot: () => base + out.length * 2048, emit: (off, len) => { out.push([off, len]); } };
}

for (const [name, family] of [['in_big', 4], ['in_big6', 6]] as const) {
  test(`segmentTcp cuts ${name} into MTU-sized segments with consecutive sequence numbers and valid checksums`, () => {
    const src = fromHex(GOLDEN[name]);
    const buf = new Uint8Array(32768);
    buf.set(src, 0);
    // Set PSH+FIN on the superframe: only the last segment may keep them.
    const l4 = 14 + (family === 4 ? 20 : 40);
    buf[l4 + 13] |= 0x09;
    buf[l4 + 16] = 0; buf[l4 + 17] = 0; // a partial checksum is fine: every segment gets a full one
    const thl = (buf[l4 + 12] >> 4) * 4;
    const payload = src.length - l4 - thl;
    const mtu = 576;
    const mss = mtu - (l4 - 14) - thl;
    const segs: Array<[number, number]> = [];
    assert.equal(new FrameFixup().segmentTcp(buf, 0, src.length, mtu, sink(8192, segs)), FIX_OK);
    assert.equal(segs.length, Math.ceil(payload / mss));
    const seq0 = ((src[l4 + 4] << 24) | (src[l4 + 5] << 16) | (src[l4 + 6] << 8) | src[l4 + 7]) >>> 0;
    const joined: number[] = [];
    segs.forEach(([off, len], k) => {
      const f = buf.slice(off, off + len);
      assert.deepEqual(verifyFrameChecksums(f), [], `segment ${k}`);
      const ipLen = family === 4 ? (f[16] << 8) | f[17] : ((f[18] << 8) | f[19]) + 40;
      assert.equal(ipLen, len - 14, `segment ${k} IP length`);
      assert.ok(ipLen <= mtu);
      const seq = ((f[l4 + 4] << 24) | (f[l4 + 5] << 16) | (f[l4 + 6] << 8) | f[l4 + 7]) >>> 0;
      assert.equal(seq, (seq0 + k * mss) >>> 0);
      const last = k === segs.length - 1;
      assert.equal(f[l4 + 13] & 0x09, last ? 0x09 : 0, `segment ${k} flags`);
      if (family === 4) assert.equal((f[18] << 8) | f[19], (((src[18] << 8) | src[19]) + k) & 0xffff, 'IPv4 id');
      joined.push(...f.subarray(l4 + thl));
    });
    assert.deepEqual(Uint8Array.from(joined), src.subarray(l4 + thl));
  });
}
