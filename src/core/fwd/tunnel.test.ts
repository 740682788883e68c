import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type TunnelTarget, ecnEncapsulate, flowHash, tunnelDecap, tunnelEncap, tunnelOverhead, udpFlowSrcPort } from './tunnel.js';
import { FWD_NO_ROOM, FWD_TTL_EXCEEDED } from './common.js';
import { ParsedFrame, PARSE_OK } from '../packet/frame.js';
import { parseFrame } from '../packet/parse-frame.js';
import { GOLDEN } from '../packet/golden-frames.js';
import { TUN_BAD_CSUM, TUN_CONTROL, TUN_NOT_TUNNEL, gueInnerOffset } from '../packet/tunnel-view.js';
import { FIX, fromHex, toHex } from '../packet/testing.js';
import { diffGolden, goldenInput } from './testing.js';
import type { TunnelCsum, TunnelType } from '../service/types.js';

// Expected frames: golden-frames.ts (scapy builds outer IP/UDP/GRE around the inner packet with
// TTL-1 and recomputes every checksum); diffGolden re-verifies all checksums including the inner ones.

const HASH = 0x12345678; // GUE source port: (h ^ h<<16) * (60999-32768) >> 32 + 32768 = 40299 (computed in gen.py)
const tgt = (type: TunnelType, csum: TunnelCsum, v6 = false, pmtuDisc = true): TunnelTarget => ({
  type, csum, port: 6080, src: v6 ? FIX.DIP6 : FIX.DIP, dst: v6 ? FIX.RS6 : FIX.RS, dstMac: FIX.RSM, srcMac: FIX.DIR, pmtuDisc,
});

const cases: [string, string, TunnelTarget][] = [
  ['in_A', 'tun_ipip_A', tgt('ipip', 'nocsum')], // DF copied (pmtu_disc), IP ID 0, TOS copied
  ['in_B', 'tun_ipip_B_nopmtu', tgt('ipip', 'nocsum')], // no DF: ID from the caller
  ['in_Bce', 'tun_ipip_Bce', tgt('ipip', 'nocsum')], // ECN CE inside -> ECT(0) outside (RFC 6040)
  ['in_B', 'tun_gue_B_nocsum', tgt('gue', 'nocsum')],
  ['in_B', 'tun_gue_B_csum', tgt('gue', 'csum')],
  ['in_A', 'tun_gre_A', tgt('gre', 'nocsum')],
  ['in_A', 'tun_gre_A_csum', tgt('gre', 'csum')],
  ['in_E', 'tun_6in4_E', tgt('ipip', 'nocsum')], // IPv6 inner: protocol 41, DF 0
  ['in_A', 'tun_4in6_A', tgt('ipip', 'nocsum', true)], // IPv6 outer, next header 4
  ['in_F', 'tun_6in6_F_gue_csum', tgt('gue', 'csum', true)],
];
for (const [input, want, t] of cases) {
  test(`tunnel ${t.type}/${t.csum} ${input} -> ${want} (spec §3.3 outer header rules)`, () => {
    const { buf, p, verdict } = goldenInput(input);
    assert.equal(verdict, PARSE_OK);
    const before = buf.slice();
    const out = new Uint8Array(2048);
    const n = tunnelEncap(out, 0, out.length, buf, p, t, 0x4242, HASH);
    assert.equal(diffGolden(out, 0, n, want), '');
    assert.deepEqual(buf, before, 'the input frame is left untouched');
  });
}

test('tunnel output can be written at an offset of the same ring buffer (copyWithin path)', () => {
  const f = fromHex(GOLDEN.in_A);
  const ring = new Uint8Array(8192);
  ring.set(f, 100);
  const p = new ParsedFrame();
  assert.equal(parseFrame(ring, f.length, p, 100), PARSE_OK);
  const view = ring.subarray(0, 8192);
  const n = tunnelEncap(view, 4096, 2048, ring, p, tgt('ipip', 'nocsum'), 0, HASH);
  assert.equal(diffGolden(view, 4096, n, 'tun_ipip_A'), '');
});

test('tunnel refuses TTL 1 and a too small output buffer', () => {
  const t1 = goldenInput('in_At1');
  const out = new Uint8Array(2048);
  assert.equal(tunnelEncap(out, 0, out.length, t1.buf, t1.p, tgt('ipip', 'nocsum'), 0, HASH), FWD_TTL_EXCEEDED);
  const a = goldenInput('in_A');
  assert.equal(tunnelEncap(out, 0, 14 + 20 + 43, a.buf, a.p, tgt('ipip', 'nocsum'), 0, HASH), FWD_NO_ROOM);
});

test('pmtu_disc=0 does not copy DF into the outer header (spec §3.3)', () => {
  const { buf, p } = goldenInput('in_A');
  const out = new Uint8Array(2048);
  const n = tunnelEncap(out, 0, out.length, buf, p, tgt('ipip', 'nocsum', false, false), 0x4242, HASH);
  assert.ok(n > 0);
  assert.equal(out[20] & 0x40, 0);
  assert.equal(toHex(out, 18, 2), '4242');
});

test('ECN encapsulation (RFC 6040 / INET_ECN_encapsulate): CE -> ECT(0), others and DSCP copied', () => {
  assert.equal(ecnEncapsulate(0xb8), 0xb8);
  assert.equal(ecnEncapsulate(0xb9), 0xb9);
  assert.equal(ecnEncapsulate(0xba), 0xba);
  assert.equal(ecnEncapsulate(0xbb), 0xba);
});

test('udp_flow_src_port: scaled into [32768, 60999) from the hash folded with its low half', () => {
  assert.equal(udpFlowSrcPort(HASH), 40299);
  assert.equal(udpFlowSrcPort(0), 32768);
  assert.equal(udpFlowSrcPort(0xffffffff), 32768); // 0xffffffff ^ 0xffff0000 = 0xffff: scaled to 0
  assert.equal(udpFlowSrcPort(0xffff0000), 32768 + Math.floor(0xffff0000 * 28231 / 2 ** 32));
  for (let h = 1; h < 1e6; h += 7919) { const s = udpFlowSrcPort(h * 2654435761 >>> 0); assert.ok(s >= 32768 && s < 60999); }
});

test('flowHash is deterministic, never 0, and differs per flow', () => {
  const a = goldenInput('in_A'), b = goldenInput('in_B');
  assert.equal(flowHash(a.buf, a.p, 7), flowHash(a.buf, a.p, 7));
  assert.notEqual(flowHash(a.buf, a.p, 7), flowHash(b.buf, b.p, 7));
  assert.notEqual(flowHash(a.buf, a.p, 7), flowHash(a.buf, a.p, 8));
  assert.notEqual(flowHash(a.buf, a.p), 0);
});

test('tunnel overhead per type (spec §3.3 MTU rule)', () => {
  assert.equal(tunnelOverhead(4, 'ipip', 'nocsum'), 20);
  assert.equal(tunnelOverhead(4, 'gue', 'csum'), 32);
  assert.equal(tunnelOverhead(4, 'gre', 'nocsum'), 24);
  assert.equal(tunnelOverhead(4, 'gre', 'csum'), 28);
  assert.equal(tunnelOverhead(6, 'ipip', 'nocsum'), 40);
});

test('decapsulation finds the inner packet of every golden tunnel frame', () => {
  for (const [name, input] of [['tun_ipip_A', 'in_A'], ['tun_gue_B_csum', 'in_B'], ['tun_gue_B_nocsum', 'in_B'], ['tun_gre_A_csum', 'in_A'],
    ['tun_gre_A', 'in_A'], ['tun_6in4_E', 'in_E'], ['tun_4in6_A', 'in_A'], ['tun_6in6_F_gue_csum', 'in_F']]) {
    const { buf, p } = goldenInput(name);
    const off = tunnelDecap(buf, p, 6080);
    assert.ok(off > 0, name);
    const inner = fromHex(GOLDEN[input]).subarray(14);
    assert.equal(p.ipEnd - off, inner.length, name);
    // the inner packet is the original with TTL - 1: compare past the TTL/checksum
    const skip = (inner[0] >> 4) === 4 ? 12 : 8;
    assert.equal(toHex(buf, off + skip, inner.length - skip), toHex(inner, skip), name);
  }
  const a = goldenInput('in_A');
  assert.equal(tunnelDecap(a.buf, a.p, 6080), TUN_NOT_TUNNEL);
});

test('decapsulation: bad GRE checksum, GUE control messages and GUE version 1 (direct IP)', () => {
  const g = goldenInput('tun_gre_A_csum');
  g.buf[g.p.ipEnd - 1] ^= 1;
  assert.equal(tunnelDecap(g.buf, g.p, 6080), TUN_BAD_CSUM);
  assert.equal(gueInnerOffset(fromHex('20040000'), 0, 4), TUN_CONTROL);
  assert.equal(gueInnerOffset(fromHex('45000014'), 0, 4), 0);
});

test('GUE remote checksum offload option is applied on decapsulation', () => {
  // GUE with PRIV flag, REMCSUM private flag, csum start 20 (TCP header), offset 20+16; inner TCP checksum replaced by its seed.
  const { buf: a, p: pa } = goldenInput('in_A');
  const inner = a.subarray(14, pa.ipEnd);
  const want = toHex(inner, 36, 2);
  const f = fromHex(GOLDEN.tun_gue_B_nocsum).subarray(0, 14 + 20 + 8);
  const frame = new Uint8Array(f.length + 12 + inner.length);
  frame.set(f);
  frame.set(fromHex('02040001' + '80000000' + '00140024'), 42);
  frame.set(inner, 54);
  // seed = folded pseudo-header sum (what a CHECKSUM_PARTIAL sender leaves in the field)
  frame[54 + 36] = 0x45; frame[54 + 37] = 0x67;
  frame[16] = 0; frame[17] = 20 + 8 + 12 + inner.length; frame[38] = 0; frame[39] = 8 + 12 + inner.length;
  frame[24] = 0; frame[25] = 0;
  let s = 0; for (let i = 14; i < 34; i += 2) s += (frame[i] << 8) | frame[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  frame[24] = (~s >> 8) & 0xff; frame[25] = ~s & 0xff;
  const p = new ParsedFrame();
  assert.equal(parseFrame(frame, frame.length, p), PARSE_OK);
  // compute the seed tsvs-independently: sum of the pseudo header of the inner TCP segment
  let ps = 0;
  for (let i = 12; i < 20; i += 2) ps += (inner[i] << 8) | inner[i + 1];
  ps += 6 + (inner.length - 20);
  while (ps > 0xffff) ps = (ps & 0xffff) + (ps >>> 16);
  frame[54 + 36] = ps >> 8; frame[54 + 37] = ps & 0xff;
  const off = tunnelDecap(frame, p, 6080);
  assert.equal(off, 54);
  assert.equal(toHex(frame, 54 + 36, 2), want);
});
