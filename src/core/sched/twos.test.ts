import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RandomSource } from '../random.js';
import type { Destination } from '../service/destination.js';
import { DEST_F_OVERLOAD } from '../service/types.js';
import { destConfig, flow, makeTable, svcConfig, svcKey } from './testing.js';
import { twosScheduler } from './twos.js';

const KEY = svcKey('tcp', '10.0.0.1:80');
const F = flow('192.0.2.1:40000', '10.0.0.1:80');
const label = (d: Destination | undefined) => (d ? 'ABCDEFGH'[d.addr.bytes[3] - 1] : '-');
const ep = (name: string) => `10.0.1.${'ABCDEFGH'.indexOf(name) + 1}:80`;

/**
 * A RandomSource that makes randomBelow(rng, bound) return the scripted values: the u32 for r is
 * floor((r + 1/2) * 2^32 / bound), so (u32 * bound) >> 32 == r and its low half is about 2^31,
 * far above Lemire's rejection threshold. Records how many values were drawn.
 */
class Scripted implements RandomSource {
  drawn = 0;
  constructor(private readonly bound: number, private readonly rs: number[]) {}
  nextU32(): number {
    const r = this.rs[this.drawn++];
    if (r === undefined) throw new Error('script exhausted');
    return Math.floor(((r + 0.5) * 2 ** 32) / this.bound);
  }
}

interface D { w: number; a?: number; i?: number; o?: boolean }

/** A twos service whose list order is the key order of `dests`, scheduling once with draws r1, r2. */
function pick(dests: Record<string, D>, bound: number, rs: number[]) {
  const random = new Scripted(bound, rs);
  const { table } = makeTable([twosScheduler], { random });
  const svc = table.addService(svcConfig(KEY, 'twos'));
  for (const [n, c] of Object.entries(dests).reverse()) {
    const d = table.addDest(KEY, destConfig(ep(n), c.w));
    d.activeConns = c.a ?? 0;
    d.inactConns = c.i ?? 0;
    if (c.o) d.flags |= DEST_F_OVERLOAD;
  }
  return { got: label(svc.sched!.schedule(svc, F)), drawn: random.drawn };
}

const ABC = { A: { w: 1 }, B: { w: 2 }, C: { w: 3 } };

test('twos draws in [0, total] and walks subtracting weights: r <= 0 selects (spec §1 twos)', () => {
  // total = 6, bound 7. r=0 and r=1 -> A (1-1 = 0); r=2,3 -> B; r=4..6 -> C. Equal loads keep choice1.
  const want = ['A', 'A', 'B', 'B', 'C', 'C', 'C'];
  for (let r = 0; r <= 6; r++) assert.equal(pick(ABC, 7, [r, 6]).got, want[r], `r1=${r}`);
});

test('twos returns choice2 only when weight2*overhead1 > weight1*overhead2 (spec §1 twos)', () => {
  // choice1 = A (w1, 1 active = 256), choice2 = C (w3, idle): 3*256 > 1*0 -> C.
  assert.equal(pick({ A: { w: 1, a: 1 }, B: { w: 2 }, C: { w: 3 } }, 7, [0, 6]).got, 'C');
  // choice1 = A (w1, 256), choice2 = B (w2, 512): 2*256 > 1*512 is false -> A (tie keeps choice1).
  assert.equal(pick({ A: { w: 1, a: 1 }, B: { w: 2, a: 2 }, C: { w: 3 } }, 7, [1, 2]).got, 'A');
  // choice1 = C (w3, 3 inactive), choice2 = A (w1, 0): 1*3 > 3*0 -> A.
  assert.equal(pick({ A: { w: 1 }, B: { w: 2 }, C: { w: 3, i: 3 } }, 7, [5, 0]).got, 'A');
  // load metric is active*256 + inactive: choice1 B (w2, 255 inactive), choice2 C (w3, 1 active = 256):
  // 3*255 = 765 > 2*256 = 512 -> C.
  assert.equal(pick({ A: { w: 1 }, B: { w: 2, i: 255 }, C: { w: 3, a: 1 } }, 7, [2, 4]).got, 'C');
});

test('twos leaves OVERLOAD destinations out of the total and the walk (spec §1 overload flag)', () => {
  // B overloaded: total = 4, bound 5; r=2 -> A leaves 1, C takes it.
  const r = pick({ A: { w: 1 }, B: { w: 2, o: true }, C: { w: 3 } }, 5, [2, 2]);
  assert.deepEqual(r, { got: 'C', drawn: 2 });
  assert.deepEqual(pick({ A: { w: 1, o: true } }, 2, []), { got: '-', drawn: 0 });
});

test('twos leaves weight 0 (quiescent) destinations out of the total and the walk (spec §1 weight 0)', () => {
  const r = pick({ A: { w: 1 }, B: { w: 0 }, C: { w: 3 } }, 5, [1, 4]);
  assert.deepEqual(r, { got: 'A', drawn: 2 });
  assert.deepEqual(pick({ A: { w: 0 } }, 2, []), { got: '-', drawn: 0 });
});
