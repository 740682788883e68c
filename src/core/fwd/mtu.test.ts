import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MTU_DROP, MTU_FRAGMENT, MTU_FRAG_NEEDED, MTU_OK, MTU_TOO_SMALL, buildMtuError, mtuCheck, mtuToReport, tunnelIcmpTranslate } from './mtu.js';
import { tunnelOverhead } from './tunnel.js';
import { BUILD_NOT_APPLICABLE } from '../packet/frame.js';
import { FIX } from '../packet/testing.js';
import { diffGolden, goldenInput } from './testing.js';

// in_big: IPv4 TCP, DF, 1440 bytes of IP; in_big6: IPv6 TCP, 1460 bytes; in_B: IPv4 UDP, no DF, 37 bytes.

test('DF and bigger than the route MTU -> frag needed; fits -> ok (spec §3)', () => {
  const { p } = goldenInput('in_big');
  assert.equal(mtuCheck(p, 1500), MTU_OK);
  assert.equal(mtuCheck(p, 1440), MTU_OK);
  assert.equal(mtuCheck(p, 1439), MTU_FRAG_NEEDED);
});

test('tunnel overhead counts against the MTU and is subtracted from the reported MTU (spec §3.3)', () => {
  const { p } = goldenInput('in_big');
  const ov = tunnelOverhead(4, 'gue', 'nocsum');
  assert.equal(mtuCheck(p, 1500, ov, 4), MTU_OK); // 1440 <= 1468
  assert.equal(mtuCheck(p, 1460, ov, 4), MTU_FRAG_NEEDED);
  assert.equal(mtuToReport(1460, ov), 1428);
  assert.equal(mtuCheck(p, 1460, ov, 4, false), MTU_FRAGMENT, 'pmtu_disc=0: DF not copied, outer gets fragmented');
  assert.equal(mtuCheck(p, 99, ov, 4), MTU_TOO_SMALL, 'route MTU - overhead < 68');
  assert.equal(mtuCheck(p, 1319, 40, 6), MTU_TOO_SMALL, 'IPv6 outer: < 1280');
});

test('IPv4 without DF is fragmented, not refused; ICMP errors never trigger frag-needed', () => {
  const b = goldenInput('in_B');
  assert.equal(mtuCheck(b.p, 36), MTU_FRAGMENT);
  const e = goldenInput('in_rs_err');
  e.p.df = 1;
  assert.equal(mtuCheck(e.p, 40), MTU_DROP);
});

test('IPv6 too big -> packet too big, whatever DF says', () => {
  const { p } = goldenInput('in_big6');
  assert.equal(mtuCheck(p, 1460), MTU_OK);
  assert.equal(mtuCheck(p, 1400), MTU_FRAG_NEEDED);
});

test('buildMtuError sends frag-needed with the MTU to report (golden icmp_frag_big)', () => {
  const { buf, p } = goldenInput('in_big');
  const out = new Uint8Array(2048);
  const n = buildMtuError(out, 0, out.length, buf, p, mtuToReport(1500, 20), FIX.DIR, null, 0x0101);
  assert.equal(diffGolden(out, 0, n, 'icmp_frag_big'), '');
});

test('frag-needed about our own IPIP packet is translated for the client with MTU - 20 (spec §2.6)', () => {
  const { buf, p } = goldenInput('in_rs_tun_err');
  const out = new Uint8Array(2048);
  const n = tunnelIcmpTranslate(out, 0, out.length, buf, p, 0, FIX.RTR, FIX.DIR, 0x0101);
  assert.equal(diffGolden(out, 0, n, 'tun_icmp_client'), '');
});

test('tunnel ICMP translation ignores other errors and clients without DF', () => {
  const out = new Uint8Array(2048);
  const { buf, p } = goldenInput('in_rs_tun_err');
  p.icmpCode = 3;
  assert.equal(tunnelIcmpTranslate(out, 0, out.length, buf, p, 0, FIX.RTR, FIX.DIR, 1), BUILD_NOT_APPLICABLE);
  const g = goldenInput('in_rs_tun_err');
  g.buf[g.p.innerIpOff + 20 + 6] &= ~0x40; // clear DF in the quoted client header
  assert.equal(tunnelIcmpTranslate(out, 0, out.length, g.buf, g.p, 0, FIX.RTR, FIX.DIR, 1), BUILD_NOT_APPLICABLE);
  const r = goldenInput('in_rs_err'); // quotes UDP to 5300, not a GUE port
  assert.equal(tunnelIcmpTranslate(out, 0, out.length, r.buf, r.p, 6080, FIX.RTR, FIX.DIR, 1), BUILD_NOT_APPLICABLE);
});
