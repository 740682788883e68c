import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullnatIn, fullnatOut, fullnatIcmpIn, fullnatIcmpOut } from './fullnat.js';
import { ParsedFrame, PARSE_OK } from '../packet/frame.js';
import { parseFrame } from '../packet/parse-frame.js';
import { FIX, toHex, verifyFrameChecksums } from '../packet/testing.js';
import { diffGolden, goldenInput } from './testing.js';

// Expected frames: golden-frames.ts (scapy, full recomputation); diffGolden re-verifies every checksum.

test('full NAT in: client:40000->VIP:80 becomes LIP:61000->RS:8080', () => {
  const { buf, p, len } = goldenInput('in_A');
  assert.equal(fullnatIn(buf, p, FIX.LIP, 61000, FIX.RS, 8080, FIX.RSM, FIX.DIR), len);
  assert.equal(diffGolden(buf, 0, len, 'fnat_in_A'), '');
});

test('full NAT out: RS:8080->LIP:61000 becomes VIP:80->client:40000', () => {
  const { buf, p, len } = goldenInput('in_H');
  assert.equal(fullnatOut(buf, p, FIX.VIP, 80, FIX.C, 40000, FIX.RTR, FIX.DIR), len);
  assert.equal(diffGolden(buf, 0, len, 'fnat_out_H'), '');
});

test('full NAT ICMP both ways: the quoted packet is mapped to what each side sent (spec §2.6 applied to full NAT)', () => {
  // in_rs_err is RS -> 198.18.0.10 quoting 198.18.0.10:5353 -> RS:5300; here 198.18.0.10:5353 plays the
  // director's local address:port (LIP role) and the client is 198.18.1.77:9999.
  const client = new Uint8Array([198, 18, 1, 77]);
  const lip = FIX.C;
  const { buf, p, len } = goldenInput('in_rs_err');
  assert.equal(fullnatIcmpOut(buf, p, FIX.VIP, 53, client, 9999, FIX.RTR, FIX.DIR), len);
  assert.deepEqual(verifyFrameChecksums(buf.subarray(0, len)), []);
  const q = new ParsedFrame();
  assert.equal(parseFrame(buf, len, q), PARSE_OK);
  assert.equal(toHex(buf, q.srcOff, 4), toHex(FIX.VIP)); assert.equal(toHex(buf, q.dstOff, 4), toHex(client));
  assert.equal(toHex(buf, q.innerSrcOff, 4), toHex(client)); assert.equal(q.innerSrcPort, 9999);
  assert.equal(toHex(buf, q.innerDstOff, 4), toHex(FIX.VIP)); assert.equal(q.innerDstPort, 53);
  assert.equal(q.ttl, 63);
  // Back in: an error from the client side about VIP:53 -> client:9999 goes to the RS quoting RS:5300 -> LIP:5353.
  assert.equal(fullnatIcmpIn(buf, q, lip, 5353, FIX.RS, 5300, FIX.RSM, FIX.DIR), len);
  assert.deepEqual(verifyFrameChecksums(buf.subarray(0, len)), []);
  assert.equal(parseFrame(buf, len, q), PARSE_OK);
  assert.equal(toHex(buf, q.srcOff, 4), toHex(lip)); assert.equal(toHex(buf, q.dstOff, 4), toHex(FIX.RS));
  assert.equal(toHex(buf, q.innerSrcOff, 4), toHex(FIX.RS)); assert.equal(q.innerSrcPort, 5300);
  assert.equal(toHex(buf, q.innerDstOff, 4), toHex(lip)); assert.equal(q.innerDstPort, 5353);
});
