import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completeChecksumAt, completeL4Checksum, decrementTtl } from './common.js';
import { fold16, pseudoSum4 } from '../net/checksum.js';
import { GOLDEN } from '../packet/golden-frames.js';
import { toHex } from '../packet/testing.js';
import { goldenInput } from './testing.js';

// Checksums expected here are the ones scapy stored in the golden input frames.

for (const name of ['in_A', 'in_B', 'in_D', 'in_E', 'in_F', 'in_rs_err', 'in_rs_err6', 'in_ns']) {
  test(`completeL4Checksum recomputes the golden L4 checksum of ${name} from garbage`, () => {
    const { buf, p } = goldenInput(name);
    const c = p.l4CsumOff;
    buf[c] ^= 0x5a; buf[c + 1] ^= 0xa5;
    assert.ok(completeL4Checksum(buf, p));
    assert.equal(toHex(buf, 0, buf.length), GOLDEN[name]);
  });
}

test('completeL4Checksum skips fragments and packets without L4', () => {
  const a = goldenInput('in_arpreq');
  assert.equal(completeL4Checksum(a.buf, a.p), false);
  const b = goldenInput('in_B');
  b.p.isFragment = 1;
  assert.equal(completeL4Checksum(b.buf, b.p), false);
});

test('completeChecksumAt finishes a CHECKSUM_PARTIAL seed the NIC way (csum_start/csum_offset)', () => {
  const { buf, p } = goldenInput('in_A');
  const n = p.ipEnd - p.l4Off;
  const seed = fold16(pseudoSum4(buf, p.srcOff, p.dstOff, 6, n));
  buf[p.l4CsumOff] = seed >> 8; buf[p.l4CsumOff + 1] = seed & 255;
  assert.ok(completeChecksumAt(buf, p.l4Off, 16, p.ipEnd));
  assert.equal(toHex(buf, 0, buf.length), GOLDEN.in_A);
  assert.equal(completeChecksumAt(buf, p.l4Off, 100, p.ipEnd), false);
});

test('decrementTtl updates the IPv4 header checksum incrementally and refuses TTL 1', () => {
  const { buf, p } = goldenInput('in_A');
  assert.ok(decrementTtl(buf, p));
  assert.equal(toHex(buf, 14, 20), GOLDEN.dr_A.slice(28, 68));
  const t = goldenInput('in_At1');
  assert.equal(decrementTtl(t.buf, t.p), false);
});
