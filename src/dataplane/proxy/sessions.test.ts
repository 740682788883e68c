import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionSet, type TrackedSession } from './sessions.js';
import { SeededRandom } from '../../core/random.js';

class FakeSession implements TrackedSession {
  readonly conn = undefined;
  sessionSlot = -1;
  swept = 0;
  aborted = false;
  constructor(readonly id: number, private readonly set?: SessionSet<FakeSession>) {}
  sweep(): void {
    this.swept++;
    // A session may end inside the sweep that walks the set.
    if (this.id % 3 === 0) this.set?.done(this);
  }
  abort(): void {
    this.aborted = true;
    this.set?.done(this);
  }
}

test('session set: add/done in any order keeps exactly the live sessions', () => {
  const set = new SessionSet<FakeSession>();
  const rnd = new SeededRandom(7);
  const live = new Map<number, FakeSession>();
  let next = 0;
  for (let step = 0; step < 20000; step++) {
    if (live.size === 0 || rnd.nextU32() % 3 !== 0) {
      const s = new FakeSession(next++);
      set.add(s);
      live.set(s.id, s);
    } else {
      const ids = [...live.keys()];
      const s = live.get(ids[rnd.nextU32() % ids.length])!;
      set.done(s);
      set.done(s); // idempotent
      live.delete(s.id);
      assert.equal(s.sessionSlot, -1);
    }
  }
  assert.equal(set.size, live.size);
  assert.deepEqual([...set].map((s) => s.id).sort((a, b) => a - b), [...live.keys()].sort((a, b) => a - b));
});

test('session set: sweep and abortWhere visit every session once while sessions end under them', () => {
  const set = new SessionSet<FakeSession>();
  const all = Array.from({ length: 30 }, (_, i) => new FakeSession(i, set));
  for (const s of all) set.add(s);
  set.sweep(0);
  assert.ok(all.every((s) => s.swept === 1));
  assert.equal(set.size, 20, 'the ten sessions with id % 3 == 0 ended during the sweep');
  assert.equal(set.abortWhere((s) => s.id % 2 === 0), 10);
  assert.equal(set.size, 10);
  assert.ok([...set].every((s) => s.id % 2 === 1 && s.id % 3 !== 0));
});

test('session set: a session belongs to one set; done() on another set leaves both intact', () => {
  const a = new SessionSet<FakeSession>();
  const b = new SessionSet<FakeSession>();
  const s = new FakeSession(1);
  const t = new FakeSession(2);
  a.add(s);
  b.add(t);
  a.add(s); // already in: no duplicate
  b.done(s); // not b's: nothing happens
  assert.equal(a.size, 1);
  assert.equal(b.size, 1);
  assert.deepEqual([...a], [s]);
});

test('session set: drained() resolves when the last session ends', async () => {
  const set = new SessionSet<FakeSession>();
  const s = new FakeSession(1);
  set.add(s);
  let done = false;
  const p = set.drained().then(() => { done = true; });
  await Promise.resolve();
  assert.equal(done, false);
  set.done(s);
  await p;
  assert.equal(done, true);
});
