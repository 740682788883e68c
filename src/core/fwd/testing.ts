// Test support for the forwarding rewrites: parse a golden input frame into a fresh buffer.
import { GOLDEN } from '../packet/golden-frames.js';
import { ParsedFrame } from '../packet/frame.js';
import { parseFrame } from '../packet/parse-frame.js';
import { fromHex, toHex, verifyFrameChecksums } from '../packet/testing.js';

/** A golden input frame (copied into a buffer with `room` spare bytes) and its parse. */
export function goldenInput(name: string, room = 0): { buf: Uint8Array; p: ParsedFrame; verdict: number; len: number } {
  const f = fromHex(GOLDEN[name]);
  const buf = new Uint8Array(f.length + room);
  buf.set(f);
  const p = new ParsedFrame();
  return { buf, p, verdict: parseFrame(buf, f.length, p), len: f.length };
}

/** Compares out[off, off+len) with a golden frame; returns '' when equal and every checksum verifies, else a description. */
export function diffGolden(out: Uint8Array, off: number, len: number, name: string): string {
  const got = toHex(out, off, len);
  const want = GOLDEN[name];
  if (want === undefined) return `no golden frame ${name}`;
  if (got !== want) {
    let i = 0;
    while (i < got.length && got[i] === want[i]) i++;
    return `${name}: first difference at byte ${i >> 1}\n got  ${got}\n want ${want}`;
  }
  const errs = verifyFrameChecksums(out.subarray(off, off + len));
  return errs.length ? `${name}: ${errs.join(', ')}` : '';
}
