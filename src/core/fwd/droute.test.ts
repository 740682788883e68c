import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drouteRewrite } from './droute.js';
import { FWD_NOT_IP, FWD_TTL_EXCEEDED } from './common.js';
import { PARSE_OK } from '../packet/frame.js';
import { FIX } from '../packet/testing.js';
import { diffGolden, goldenInput } from './testing.js';

// Expected frames: golden-frames.ts (scapy, checksums recomputed in full); diffGolden also re-verifies
// every checksum with the naive verifier in packet/testing.ts.

test('DR IPv4: only TTL-1, IP checksum and MACs change (spec §3.2)', () => {
  const { buf, p, verdict, len } = goldenInput('in_A');
  assert.equal(verdict, PARSE_OK);
  assert.equal(drouteRewrite(buf, p, FIX.RSM, FIX.DIR), len);
  assert.equal(diffGolden(buf, 0, len, 'dr_A'), '');
  assert.equal(p.ttl, 63);
});

test('DR IPv6: hop limit - 1, MACs (spec §3.2)', () => {
  const { buf, p, len } = goldenInput('in_E');
  assert.equal(drouteRewrite(buf, p, FIX.RSM, FIX.DIR), len);
  assert.equal(diffGolden(buf, 0, len, 'dr_E'), '');
});

test('DR refuses TTL <= 1 without touching the frame (time exceeded, spec §3)', () => {
  const { buf, p } = goldenInput('in_At1');
  const before = buf.slice();
  assert.equal(drouteRewrite(buf, p, FIX.RSM, FIX.DIR), FWD_TTL_EXCEEDED);
  assert.deepEqual(buf, before);
});

test('DR of a non-IP frame is refused', () => {
  const { buf, p } = goldenInput('in_arpreq');
  assert.equal(drouteRewrite(buf, p, FIX.RSM, FIX.DIR), FWD_NOT_IP);
});
