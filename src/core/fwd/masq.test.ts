import { test } from 'node:test';
import assert from 'node:assert/strict';
import { masqIcmpIn, masqIcmpOut, masqIn, masqOut } from './masq.js';
import { FWD_CSUM_PARTIAL, FWD_FAMILY, FWD_TTL_EXCEEDED, FWD_UNSUPPORTED, completeL4Checksum } from './common.js';
import { PARSE_OK, rd16 } from '../packet/frame.js';
import { fold16, pseudoSum4 } from '../net/checksum.js';
import { FIX } from '../packet/testing.js';
import { diffGolden, goldenInput } from './testing.js';

// Expected frames: golden-frames.ts (scapy builds them with the new addresses/ports and recomputes
// every checksum in full, so they check tsvs's incremental updates); diffGolden re-verifies all checksums.

const cases: [string, string, Uint8Array, number][] = [
  ['in_A', 'masq_in_A', FIX.RS, 8080], // TCP, port mapped
  ['in_B', 'masq_in_B', FIX.RS, 0], // UDP, dest port 0 keeps the virtual port
  ['in_Bz', 'masq_in_Bz', FIX.RS, 0], // UDP checksum 0: the kernel computes a full one
  ['in_D', 'masq_in_D', FIX.RS, 8080], // SCTP: CRC32c recomputed
  ['in_E', 'masq_in_E', FIX.RS6, 8080], // IPv6 TCP
  ['in_F', 'masq_in_F', FIX.RS6, 0], // IPv6 UDP
];
for (const [input, want, rs, port] of cases) {
  test(`masq in ${input} -> ${want}: DNAT dst ip+port, TTL-1, checksums (spec §3.1)`, () => {
    const { buf, p, verdict, len } = goldenInput(input);
    assert.equal(verdict, PARSE_OK);
    assert.equal(masqIn(buf, p, rs, port, FIX.RSM, FIX.DIR), len);
    assert.equal(diffGolden(buf, 0, len, want), '');
  });
}

test('masq out: SNAT src -> VIP:vport on the real server reply (spec §3.1)', () => {
  const { buf, p, len } = goldenInput('in_G');
  assert.equal(masqOut(buf, p, FIX.VIP, 80, FIX.RTR, FIX.DIR), len);
  assert.equal(diffGolden(buf, 0, len, 'masq_out_G'), '');
  assert.equal(p.srcPort, 80);
});

test('masq refuses family mismatches and TTL 1, changing nothing', () => {
  const { buf, p } = goldenInput('in_A');
  const before = buf.slice();
  assert.equal(masqIn(buf, p, FIX.RS6, 8080, FIX.RSM, FIX.DIR), FWD_FAMILY);
  const t = goldenInput('in_At1');
  assert.equal(masqIn(t.buf, t.p, FIX.RS, 8080, FIX.RSM, FIX.DIR), FWD_TTL_EXCEEDED);
  assert.deepEqual(buf, before);
});

test('masq with FWD_CSUM_PARTIAL moves only the pseudo-header seed; completing it gives the golden checksum', () => {
  const { buf, p, len } = goldenInput('in_A');
  // Turn the input into what a CSUMNOTREADY frame carries: the folded pseudo-header sum.
  const n = p.ipEnd - p.l4Off;
  const seed = fold16(pseudoSum4(buf, p.srcOff, p.dstOff, 6, n));
  buf[p.l4CsumOff] = seed >>> 8; buf[p.l4CsumOff + 1] = seed & 0xff;
  assert.equal(masqIn(buf, p, FIX.RS, 8080, FIX.RSM, FIX.DIR, FWD_CSUM_PARTIAL), len);
  assert.equal(rd16(buf, p.l4CsumOff), fold16(pseudoSum4(buf, p.srcOff, p.dstOff, 6, n)));
  assert.ok(completeL4Checksum(buf, p));
  assert.equal(diffGolden(buf, 0, len, 'masq_in_A'), '');
});

test('masq ICMP out: RS error about client->RS:5300 goes to the client from VIP, quote shows VIP:53 (spec §2.6, ip_vs_nat_icmp)', () => {
  const { buf, p, len } = goldenInput('in_rs_err');
  assert.equal(masqIcmpOut(buf, p, FIX.VIP, 53, FIX.RTR, FIX.DIR), len);
  assert.equal(diffGolden(buf, 0, len, 'masq_icmp_out'), '');
});

test('masq ICMP in: frag-needed about VIP:80->client goes to the RS, quote shows RS:8080 (spec §2.6)', () => {
  const { buf, p, len } = goldenInput('in_cl_err');
  assert.equal(masqIcmpIn(buf, p, FIX.RS, 8080, FIX.RSM, FIX.DIR), len);
  assert.equal(diffGolden(buf, 0, len, 'masq_icmp_in'), '');
});

test('masq ICMPv6 out: outer and quoted addresses and port, ICMPv6 checksum with pseudo-header (spec §2.6)', () => {
  const { buf, p, len } = goldenInput('in_rs_err6');
  assert.equal(masqIcmpOut(buf, p, FIX.VIP6, 53, FIX.RTR, FIX.DIR), len);
  assert.equal(diffGolden(buf, 0, len, 'masq_icmp_out6'), '');
});

test('natRewrite refuses ICMP errors and natIcmpRewrite refuses non-errors', () => {
  const e = goldenInput('in_rs_err');
  assert.equal(masqOut(e.buf, e.p, FIX.VIP, 53, FIX.RTR, FIX.DIR), FWD_UNSUPPORTED);
  const a = goldenInput('in_A');
  assert.equal(masqIcmpIn(a.buf, a.p, FIX.RS, 8080, FIX.RSM, FIX.DIR), FWD_UNSUPPORTED);
});
