// Fuzzing parseFrame and every rewrite/builder with >= 200k random and mutated frames.
// Out-of-bounds detection: each frame is placed at the same offset in three buffers —
//   A: an exact-length view (reads past the end give undefined),
//   B: a larger buffer with 0x00 after the frame and 0xaa before it,
//   C: a larger buffer with 0xff after the frame and 0x55 before it.
// Parse results, return codes, frame bytes and output bytes must agree across A, B and C (a read
// outside [start, start+len) would see different bytes), and the sentinels in B and C must survive
// (no write outside the frame). Any exception fails the test with the frame in hex.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFrame } from './parse-frame.js';
import { ParsedFrame, PARSE_OK } from './frame.js';
import { GOLDEN } from './golden-frames.js';
import { FIX, fromHex, toHex } from './testing.js';
import { ipv4HeaderChecksum } from '../net/checksum.js';
import { buildArpReply } from './arp.js';
import { buildNaReply } from './ndp.js';
import { buildIcmpError } from './icmp-error.js';
import { drouteRewrite } from '../fwd/droute.js';
import { masqIcmpIn, masqIcmpOut, masqIn, masqOut } from '../fwd/masq.js';
import { fullnatIcmpIn, fullnatIcmpOut, fullnatIn, fullnatOut } from '../fwd/fullnat.js';
import { type TunnelTarget, flowHash, tunnelDecap, tunnelEncap } from '../fwd/tunnel.js';
import { mtuCheck, tunnelIcmpTranslate } from '../fwd/mtu.js';
import { FWD_CSUM_PARTIAL, completeL4Checksum } from '../fwd/common.js';

const TOTAL = 200_000;
const START = 9; // frames sit at an odd offset, as in a ring
const PAD = 64;
const MAXLEN = 1700;

let seed = 0x9e3779b9;
function rnd(): number { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; }
const below = (n: number) => rnd() % n;

// Seeds: every golden frame plus hand-made frames with IPv4 options, IPv6 extension headers, VLAN tags, fragments.
const seeds: Uint8Array[] = Object.values(GOLDEN).map(fromHex);
const ETH = '020000000002020000000001';
seeds.push(fromHex(ETH + '8100006488a8000586dd' + GOLDEN.in_F.slice(28)));
seeds.push(fromHex(ETH + '8100000a' + GOLDEN.in_A.slice(24)));
{
  const ext = '3c00010400000000' + '2c00010400000000' + '3300000101020304' + '1101000000000100' + '00000001' + '14e9003500080000';
  const r = fromHex(ext);
  const f = fromHex(ETH + '86dd' + '60000000' + r.length.toString(16).padStart(4, '0') + '0040' + '20010db8000100000000000000000010'
    + '20010db8000200000000000000000100' + ext);
  seeds.push(f);
  // IPv4, IHL 7 (NOP NOP router-alert, EOL), first fragment (MF) of UDP whose length covers more than this fragment
  const v4 = fromHex(ETH + '0800' + '470000000001200040110000c612000ac6120164' + '0101940400000000' + '14e9003505dc0000');
  v4[16] = 0; v4[17] = v4.length - 14;
  ipv4HeaderChecksum(v4, 14, 28);
  seeds.push(v4);
}

const abA = new ArrayBuffer(START + MAXLEN);
const bufB = new Uint8Array(START + MAXLEN + PAD);
const bufC = new Uint8Array(START + MAXLEN + PAD);
const outs = [new Uint8Array(4096), new Uint8Array(4096), new Uint8Array(4096)];
const pfs = [new ParsedFrame(), new ParsedFrame(), new ParsedFrame()];

function load(frame: Uint8Array, len: number): Uint8Array[] {
  const a = new Uint8Array(abA, 0, START + len);
  a.fill(0, 0, START);
  a.set(frame.subarray(0, len), START);
  bufB.fill(0xaa, 0, START); bufB.set(frame.subarray(0, len), START); bufB.fill(0x00, START + len, START + len + PAD);
  bufC.fill(0x55, 0, START); bufC.set(frame.subarray(0, len), START); bufC.fill(0xff, START + len, START + len + PAD);
  return [a, bufB, bufC];
}

function sameBytes(a: Uint8Array, b: Uint8Array, off: number, n: number): boolean {
  for (let i = off; i < off + n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameParse(a: ParsedFrame, b: ParsedFrame): string {
  for (const k of Object.keys(a) as (keyof ParsedFrame)[]) if (a[k] !== b[k]) return `${k}: ${a[k]} vs ${b[k]}`;
  return '';
}

const t4: TunnelTarget = { type: 'gue', csum: 'csum', port: 6080, src: FIX.DIP, dst: FIX.RS, dstMac: FIX.RSM, srcMac: FIX.DIR, pmtuDisc: true };
const t6: TunnelTarget = { type: 'gre', csum: 'csum', port: 0, src: FIX.DIP6, dst: FIX.RS6, dstMac: FIX.RSM, srcMac: FIX.DIR, pmtuDisc: true };
const tIpip: TunnelTarget = { ...t4, type: 'ipip', csum: 'nocsum' };
const A = (p: ParsedFrame, v4: Uint8Array, v6: Uint8Array) => (p.family === 6 ? v6 : v4);

type Op = (b: Uint8Array, p: ParsedFrame, out: Uint8Array, len: number) => number;
const ops: [string, Op][] = [
  ['droute', (b, p) => drouteRewrite(b, p, FIX.RSM, FIX.DIR)],
  ['masqIn', (b, p) => masqIn(b, p, A(p, FIX.RS, FIX.RS6), 8080, FIX.RSM, FIX.DIR)],
  ['masqIn-partial', (b, p) => masqIn(b, p, A(p, FIX.RS, FIX.RS6), 8080, FIX.RSM, FIX.DIR, FWD_CSUM_PARTIAL)],
  ['masqIn-wrong-family', (b, p) => masqIn(b, p, A(p, FIX.RS6, FIX.RS), 8080, FIX.RSM, FIX.DIR)],
  ['masqOut', (b, p) => masqOut(b, p, A(p, FIX.VIP, FIX.VIP6), 80, FIX.RTR, FIX.DIR)],
  ['fullnatIn', (b, p) => fullnatIn(b, p, A(p, FIX.LIP, FIX.DIP6), 61000, A(p, FIX.RS, FIX.RS6), 8080, FIX.RSM, FIX.DIR)],
  ['fullnatOut', (b, p) => fullnatOut(b, p, A(p, FIX.VIP, FIX.VIP6), 80, A(p, FIX.C, FIX.C6), 40000, FIX.RTR, FIX.DIR)],
  ['masqIcmpIn', (b, p) => masqIcmpIn(b, p, A(p, FIX.RS, FIX.RS6), 8080, FIX.RSM, FIX.DIR)],
  ['masqIcmpOut', (b, p) => masqIcmpOut(b, p, A(p, FIX.VIP, FIX.VIP6), 80, FIX.RTR, FIX.DIR)],
  ['fullnatIcmpIn', (b, p) => fullnatIcmpIn(b, p, A(p, FIX.LIP, FIX.DIP6), 61000, A(p, FIX.RS, FIX.RS6), 8080, FIX.RSM, FIX.DIR)],
  ['fullnatIcmpOut', (b, p) => fullnatIcmpOut(b, p, A(p, FIX.VIP, FIX.VIP6), 80, A(p, FIX.C, FIX.C6), 40000, FIX.RTR, FIX.DIR)],
  ['tunnel-gue4', (b, p, o) => tunnelEncap(o, 3, 4000, b, p, t4, 7, flowHash(b, p, 1))],
  ['tunnel-gre6', (b, p, o) => tunnelEncap(o, 0, 4096, b, p, t6, 7, 1)],
  ['tunnel-ipip', (b, p, o) => tunnelEncap(o, 0, 4096, b, p, tIpip, 7, 1)],
  ['tunnelDecap', (b, p) => tunnelDecap(b, p, 6080)],
  ['icmp-port', (b, p, o) => buildIcmpError(o, 0, 4096, b, p, 1, 0, FIX.DIR, null, 1)],
  ['icmp-frag', (b, p, o) => buildIcmpError(o, 5, 2000, b, p, 2, 1400, FIX.DIR, null, 1)],
  ['icmp-time-inplace', (b, p, _o, len) => buildIcmpError(b, START, len, b, p, 3, 0, FIX.DIR, null, 1)],
  ['arp-reply', (b, p, o) => buildArpReply(o, 0, 4096, b, p, FIX.DIR)],
  ['arp-reply-inplace', (b, p, _o, len) => buildArpReply(b, START, len, b, p, FIX.DIR)],
  ['na-reply', (b, p, o) => buildNaReply(o, 0, 4096, b, p, FIX.DIR)],
  ['na-reply-inplace', (b, p, _o, len) => buildNaReply(b, START, len, b, p, FIX.DIR)],
  ['mtu', (_b, p) => mtuCheck(p, 576, 32, 4) * 10 + mtuCheck(p, 1280)],
  ['tunnel-icmp', (b, p, o) => tunnelIcmpTranslate(o, 0, 4096, b, p, 6080, FIX.RTR, FIX.DIR, 1)],
  ['completeL4', (b, p) => (completeL4Checksum(b, p) ? 1 : 0)],
];

function mutate(src: Uint8Array): { f: Uint8Array; len: number } {
  const f = new Uint8Array(MAXLEN);
  let len = Math.min(src.length, MAXLEN);
  f.set(src.subarray(0, len));
  const kind = below(6);
  const pick = () => (len > 0 ? below(len) : 0);
  if (kind === 0) { // bit flips
    for (let i = 1 + below(8); i > 0; i--) { const o = pick(); f[o] ^= 1 << below(8); }
  } else if (kind === 1) { // truncation
    len = below(len + 1);
  } else if (kind === 2) { // length-field lies at the offsets that carry lengths
    const pf = new ParsedFrame();
    parseFrame(f, len, pf);
    const cands = [pf.ipOff, pf.ipOff + 2, pf.ipOff + 3, pf.ipOff + 5, pf.l4Off + 4, pf.l4Off + 5, pf.l4Off + 12, pf.ipOff + 41,
      pf.ipOff + 6, pf.innerIpOff, pf.innerIpOff + 3, pf.innerIpOff + 5, pf.payloadOff, pf.payloadOff + 1, pf.l3Off + 5, pf.l4Off + 25];
    for (let i = 1 + below(3); i > 0; i--) { const o = cands[below(cands.length)]; if (o >= 0 && o < len) f[o] = rnd() & 0xff; }
  } else if (kind === 3) { // random bytes in the headers
    for (let i = 1 + below(4); i > 0; i--) { const o = below(Math.min(len, 80) || 1); f[o] = rnd() & 0xff; }
  } else if (kind === 4) { // extension: grow with random tail
    const extra = below(64);
    for (let i = 0; i < extra && len < MAXLEN; i++) f[len++] = rnd() & 0xff;
  } else { // combined
    const o = pick(); f[o] = rnd() & 0xff; len = Math.max(0, len - below(16));
  }
  // Half the time keep the IPv4 header checksum right so mutations reach the deeper layers.
  if (below(2) === 0) {
    const pf = new ParsedFrame();
    parseFrame(f, len, pf);
    const l3 = pf.l3Off;
    if (l3 >= 0 && l3 + 20 <= len && f[l3] >> 4 === 4) {
      const hl = (f[l3] & 15) * 4;
      if (hl >= 20 && l3 + hl <= len) ipv4HeaderChecksum(f, l3, hl);
    }
  }
  return { f, len };
}

function randomFrame(): { f: Uint8Array; len: number } {
  const len = below(160);
  const f = new Uint8Array(MAXLEN);
  for (let i = 0; i < len; i++) f[i] = rnd() & 0xff;
  const types = [0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x1234];
  if (len >= 14) { const t = types[below(types.length)]; f[12] = t >> 8; f[13] = t & 255; }
  if (len >= 15 && below(2) === 0) f[14] = f[12] === 0x86 ? 0x60 | (f[14] & 0x0f) : 0x45;
  return { f, len };
}

test(`parseFrame and every rewrite survive ${TOTAL} random and mutated frames without throwing or reading/writing outside the frame`, () => {
  let ok = 0;
  let opsRun = 0;
  for (let n = 0; n < TOTAL; n++) {
    const { f, len } = n % 4 === 0 ? randomFrame() : mutate(seeds[below(seeds.length)]);
    const where = () => `iteration ${n}, frame ${toHex(f, 0, len)}`;
    let bufs = load(f, len);
    const v: number[] = [];
    try {
      for (let i = 0; i < 3; i++) v.push(parseFrame(bufs[i], len, pfs[i], START));
    } catch (e) {
      assert.fail(`parseFrame threw ${(e as Error).message} at ${where()}`);
    }
    if (v[1] !== v[0] || v[2] !== v[0]) assert.fail(`verdicts ${v.join('/')} at ${where()}`);
    const d1 = sameParse(pfs[0], pfs[1]) || sameParse(pfs[0], pfs[2]);
    if (d1) assert.fail(`parse differs (${d1}) at ${where()}`);
    if (v[0] !== PARSE_OK) continue;
    ok++;
    for (let k = 0; k < 3; k++) {
      const [name, op] = ops[below(ops.length)];
      bufs = load(f, len);
      const r: number[] = [];
      for (let i = 0; i < 3; i++) {
        parseFrame(bufs[i], len, pfs[i], START);
        outs[i].fill(0);
        try {
          r.push(op(bufs[i], pfs[i], outs[i], len));
        } catch (e) {
          assert.fail(`${name} threw ${(e as Error).message} at ${where()}`);
        }
      }
      opsRun++;
      if (r[1] !== r[0] || r[2] !== r[0]) assert.fail(`${name} results ${r.join('/')} at ${where()}`);
      if (!sameBytes(bufs[0], bufB, START, len) || !sameBytes(bufs[0], bufC, START, len)) assert.fail(`${name} frame bytes differ at ${where()}`);
      for (let i = 0; i < START; i++) if (bufB[i] !== 0xaa || bufC[i] !== 0x55) assert.fail(`${name} wrote before the frame at ${where()}`);
      for (let i = START + len; i < START + len + PAD; i++) if (bufB[i] !== 0 || bufC[i] !== 0xff) assert.fail(`${name} wrote after the frame at ${where()}`);
      if (r[0] > 0 && (!sameBytes(outs[0], outs[1], 0, r[0] + 8) || !sameBytes(outs[0], outs[2], 0, r[0] + 8))) {
        assert.fail(`${name} output differs at ${where()}`);
      }
    }
  }
  // Sanity: the mutations must reach the rewrites often enough to mean something.
  assert.ok(ok > TOTAL / 4, `only ${ok} frames parsed ok`);
  assert.ok(opsRun > TOTAL / 2, `only ${opsRun} operations run`);
});
