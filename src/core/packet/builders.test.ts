import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildArpReply, buildGratuitousArp, ARPOP_REPLY } from './arp.js';
import { buildNaReply, buildUnsolicitedNa } from './ndp.js';
import { buildIcmpError, ICMP_ERR_FRAG_NEEDED, ICMP_ERR_PORT_UNREACH, ICMP_ERR_TIME_EXCEEDED } from './icmp-error.js';
import { BUILD_NOT_APPLICABLE, BUILD_NO_ROOM, BUILD_SUPPRESSED, PARSE_OK, ParsedFrame } from './frame.js';
import { parseFrame } from './parse-frame.js';
import { GOLDEN } from './golden-frames.js';
import { FIX, fromHex, toHex, verifyFrameChecksums } from './testing.js';
import { diffGolden, goldenInput } from '../fwd/testing.js';

// Expected frames: golden-frames.ts, built by scapy (ICMP quotes cut at 548 bytes for IPv4 and 1232
// for IPv6 by the recipe, as icmp_send / icmp6_send do); diffGolden re-verifies every checksum.

test('ARP reply for a VIP (golden arp_reply), also built in place over the request', () => {
  const { buf, p } = goldenInput('in_arpreq');
  const out = new Uint8Array(64);
  const n = buildArpReply(out, 0, out.length, buf, p, FIX.DIR);
  assert.equal(n, 42);
  assert.equal(diffGolden(out, 0, n, 'arp_reply'), '');
  assert.equal(buildArpReply(buf, 0, buf.length, buf, p, FIX.DIR), 42);
  assert.equal(diffGolden(buf, 0, 42, 'arp_reply'), '');
  assert.equal(buildArpReply(out, 0, 41, buf, p, FIX.DIR), BUILD_NO_ROOM);
});

test('ARP reply keeps the request VLAN tag; replies are not answered', () => {
  const req = fromHex(GOLDEN.in_arpreq.slice(0, 24) + '8100' + '0007' + GOLDEN.in_arpreq.slice(24));
  const p = new ParsedFrame();
  assert.equal(parseFrame(req, req.length, p), PARSE_OK);
  const out = new Uint8Array(64);
  const n = buildArpReply(out, 0, out.length, req, p, FIX.DIR);
  assert.equal(n, 46);
  assert.equal(toHex(out, 0, n), GOLDEN.arp_reply.slice(0, 24) + '81000007' + GOLDEN.arp_reply.slice(24));
  p.arpOp = ARPOP_REPLY;
  assert.equal(buildArpReply(out, 0, out.length, req, p, FIX.DIR), BUILD_NOT_APPLICABLE);
});

test('gratuitous ARP (golden garp): broadcast request, sender = target = VIP, target MAC zero', () => {
  const out = new Uint8Array(64);
  const n = buildGratuitousArp(out, 0, out.length, FIX.DIR, FIX.VIP);
  assert.equal(diffGolden(out, 0, n, 'garp'), '');
  const t = buildGratuitousArp(out, 0, out.length, FIX.DIR, FIX.VIP, 1, 42);
  assert.equal(t, 46);
  assert.equal(toHex(out, 12, 6), '8100002a0806');
});

test('neighbour advertisement answering a solicitation (golden na_reply): S+O, hop limit 255, target LLA', () => {
  const { buf, p } = goldenInput('in_ns');
  const out = new Uint8Array(128);
  const n = buildNaReply(out, 0, out.length, buf, p, FIX.DIR);
  assert.equal(diffGolden(out, 0, n, 'na_reply'), '');
  // in place over the solicitation
  const m = buildNaReply(buf, 0, buf.length + 0, buf, p, FIX.DIR);
  assert.equal(m, 86);
  assert.equal(diffGolden(buf, 0, m, 'na_reply'), '');
});

test('a DAD solicitation (source ::) is answered to all-nodes without the solicited flag (RFC 4861 §7.2.4)', () => {
  const ns = fromHex(GOLDEN.in_ns);
  ns.fill(0, 22, 38);
  const p = new ParsedFrame();
  assert.equal(parseFrame(ns, ns.length, p), PARSE_OK);
  const out = new Uint8Array(128);
  const n = buildNaReply(out, 0, out.length, ns, p, FIX.DIR);
  assert.equal(n, 86);
  assert.equal(toHex(out, 0, 6), '333300000001');
  assert.equal(toHex(out, 38, 16), 'ff020000000000000000000000000001');
  assert.equal(out[58], 0x20);
  assert.deepEqual(verifyFrameChecksums(out.subarray(0, n)), []);
  ns[21] = 64; // hop limit must be 255
  parseFrame(ns, ns.length, p);
  assert.equal(buildNaReply(out, 0, out.length, ns, p, FIX.DIR), BUILD_NOT_APPLICABLE);
});

test('unsolicited neighbour advertisement (golden na_unsol)', () => {
  const out = new Uint8Array(128);
  const n = buildUnsolicitedNa(out, 0, out.length, FIX.DIR, FIX.VIP6);
  assert.equal(diffGolden(out, 0, n, 'na_unsol'), '');
});

const icmpCases: [string, string, number, number][] = [
  ['in_B', 'icmp_port_B', ICMP_ERR_PORT_UNREACH, 0], // no destination (spec §2.6)
  ['in_big', 'icmp_frag_big', ICMP_ERR_FRAG_NEEDED, 1480], // quote cut to 548 bytes
  ['in_At1', 'icmp_time_At1', ICMP_ERR_TIME_EXCEEDED, 0],
  ['in_F', 'icmp6_port_F', ICMP_ERR_PORT_UNREACH, 0],
  ['in_big6', 'icmp6_ptb_big6', ICMP_ERR_FRAG_NEEDED, 1280], // quote cut to 1232 bytes
];
for (const [input, want, kind, mtu] of icmpCases) {
  test(`ICMP error ${want}: from the VIP to the sender, quoting the packet as the kernel does (spec §2.6, §3)`, () => {
    const { buf, p } = goldenInput(input);
    const out = new Uint8Array(2048);
    const n = buildIcmpError(out, 0, out.length, buf, p, kind, mtu, FIX.DIR, null, 0x0101);
    assert.equal(diffGolden(out, 0, n, want), '');
  });
}

test('ICMP error built in place over the offending frame', () => {
  const { buf, p } = goldenInput('in_B', 100);
  const n = buildIcmpError(buf, 0, buf.length, buf, p, ICMP_ERR_PORT_UNREACH, 0, FIX.DIR, null, 0x0101);
  assert.equal(diffGolden(buf, 0, n, 'icmp_port_B'), '');
});

test('no ICMP error about an ICMP error, a non-first fragment, or multicast (RFC 1122 §3.2.2, RFC 4443 §2.4)', () => {
  const out = new Uint8Array(2048);
  const e = goldenInput('in_rs_err');
  assert.equal(buildIcmpError(out, 0, out.length, e.buf, e.p, ICMP_ERR_PORT_UNREACH, 0, FIX.DIR, null, 1), BUILD_SUPPRESSED);
  const e6 = goldenInput('in_rs_err6');
  assert.equal(buildIcmpError(out, 0, out.length, e6.buf, e6.p, ICMP_ERR_PORT_UNREACH, 0, FIX.DIR, null, 1), BUILD_SUPPRESSED);
  const m = goldenInput('in_B');
  m.buf[30] = 239; // destination 239.18.1.100 (checksum no longer matters to the builder)
  assert.equal(buildIcmpError(out, 0, out.length, m.buf, m.p, ICMP_ERR_PORT_UNREACH, 0, FIX.DIR, null, 1), BUILD_SUPPRESSED);
  const f = goldenInput('in_B');
  f.buf[21] = 0x10; // fragment offset 16 * 8
  assert.equal(buildIcmpError(out, 0, out.length, f.buf, f.p, ICMP_ERR_PORT_UNREACH, 0, FIX.DIR, null, 1), BUILD_SUPPRESSED);
  const m6 = goldenInput('in_F');
  m6.buf[38] = 0xff;
  assert.equal(buildIcmpError(out, 0, out.length, m6.buf, m6.p, ICMP_ERR_PORT_UNREACH, 0, FIX.DIR, null, 1), BUILD_SUPPRESSED);
  assert.ok(buildIcmpError(out, 0, out.length, m6.buf, m6.p, ICMP_ERR_FRAG_NEEDED, 1280, FIX.DIR, FIX.VIP6, 1) > 0, 'PTB to multicast is allowed');
  const a = goldenInput('in_arpreq');
  assert.equal(buildIcmpError(out, 0, out.length, a.buf, a.p, ICMP_ERR_PORT_UNREACH, 0, FIX.DIR, null, 1), BUILD_NOT_APPLICABLE);
  const b = goldenInput('in_B');
  assert.equal(buildIcmpError(out, 0, 14 + 28 + 36, b.buf, b.p, ICMP_ERR_PORT_UNREACH, 0, FIX.DIR, null, 1), BUILD_NO_ROOM);
});

test('an explicit source address replaces the VIP (errors about packets not addressed to tsvs)', () => {
  const { buf, p } = goldenInput('in_B');
  const out = new Uint8Array(256);
  const n = buildIcmpError(out, 0, out.length, buf, p, ICMP_ERR_PORT_UNREACH, 0, FIX.DIR, FIX.DIP, 0x0101);
  assert.equal(toHex(out, 26, 4), toHex(FIX.DIP));
  assert.deepEqual(verifyFrameChecksums(out.subarray(0, n)), []);
});
