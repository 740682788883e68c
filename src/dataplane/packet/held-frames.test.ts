// Frames held while a next hop is resolved (held-frames.ts): released with the learned MAC in
// order, bounded per neighbour and in neighbours, dropped after HOLD_MS; the zero-MAC mark.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type IpAddress, parseIp } from '../../core/net/addr.js';
import { HOLD_MS, HOLD_NEIGHBOURS, HOLD_PER_NEIGHBOUR, HeldFrames, UNRESOLVED_MAC, awaitsNeighbour } from './held-frames.js';
import { type PendingHop, pendingHop } from './net-context.js';

const A = parseIp('198.18.1.1')!;
const B = parseIp('2001:db8:1::1')!;
const MAC = Uint8Array.from([2, 0, 0, 0, 2, 0]);
const frame = (tag: number) => Uint8Array.from([...UNRESOLVED_MAC, 2, 0, 0, 0, 1, 1, 8, 0, tag]);
/** The hop net-context.ts gives toward `via` on interface 3 while it is resolved. */
const hop = (via: IpAddress): PendingHop => pendingHop(3, via, 1500, via);

/** Releases with the neighbours in `known` (all on interface 3). */
function released(h: HeldFrames, known: ReadonlyMap<IpAddress, Uint8Array>, now: number): Array<[number[], number]> {
  const out: Array<[number[], number]> = [];
  const lookup = { get: (addr: IpAddress) => (known.has(addr) ? { ifIndex: 3, mac: known.get(addr)! } : undefined) };
  h.release(lookup, (f, ifIndex) => out.push([Array.from(f), ifIndex]), now);
  return out;
}

test('frames wait for their neighbour, then go in order with its MAC; another neighbour\'s keep waiting', () => {
  const h = new HeldFrames();
  assert.ok(awaitsNeighbour(frame(1), 0));
  h.hold(hop(A), frame(1), 0);
  h.hold(hop(A), frame(2), 1);
  h.hold(hop(B), frame(3), 2);
  assert.deepEqual(released(h, new Map(), 10), [], 'nothing known yet');
  const out = released(h, new Map([[A, MAC]]), 20);
  assert.deepEqual(out.map(([f, i]) => [f.slice(0, 6), f[14], i]), [[[2, 0, 0, 0, 2, 0], 1, 3], [[2, 0, 0, 0, 2, 0], 2, 3]]);
  assert.ok(!awaitsNeighbour(Uint8Array.from(out[0]![0]), 0));
  assert.equal(h.size, 1);
  assert.deepEqual(h.counters, { held: 3, released: 2, dropped: 0 });
});

test('bounded: per neighbour and in neighbours; unanswered frames are dropped after HOLD_MS', () => {
  const h = new HeldFrames();
  for (let i = 0; i < HOLD_PER_NEIGHBOUR + 2; i++) h.hold(hop(A), frame(i), 0);
  for (let i = 0; i < HOLD_NEIGHBOURS; i++) h.hold(hop(parseIp(`198.18.9.${i}`)!), frame(0), 0);
  assert.equal(h.size, HOLD_NEIGHBOURS, 'A plus 63 others: the 64th other found no room');
  assert.deepEqual(h.counters, { held: HOLD_PER_NEIGHBOUR + HOLD_NEIGHBOURS - 1, released: 0, dropped: 3 });
  assert.deepEqual(released(h, new Map(), HOLD_MS), [], 'still in time');
  const late = released(h, new Map([[A, MAC]]), HOLD_MS + 1);
  assert.equal(late.length, HOLD_PER_NEIGHBOUR, 'a neighbour known at last still gets its frames');
  assert.equal(h.size, 0, 'the others waited too long');
  assert.deepEqual(h.counters, { held: HOLD_PER_NEIGHBOUR + HOLD_NEIGHBOURS - 1, released: HOLD_PER_NEIGHBOUR, dropped: 3 + HOLD_NEIGHBOURS - 1 });
});

test('hold() says when a frame found no room; a MAC learned on another interface releases nothing', () => {
  const h = new HeldFrames();
  for (let i = 0; i < HOLD_PER_NEIGHBOUR; i++) assert.equal(h.hold(hop(A), frame(i), 0), true);
  assert.equal(h.hold(hop(A), frame(99), 0), false, 'the neighbour\'s queue is full');
  const out: number[] = [];
  h.release({ get: () => ({ ifIndex: 4, mac: MAC }) }, (_f, ifIndex) => out.push(ifIndex), 10);
  assert.deepEqual([out, h.size], [[], 1], 'A is known, but on interface 4: its frames wait for interface 3');
});
