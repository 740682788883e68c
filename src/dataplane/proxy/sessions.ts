// A listener's live sessions, whichever socket path carries them: the set the sweep walks, the
// drain waiters (a retired or stopping listener waits for its sessions to end), and the
// expire_nodest_conn aborts (spec §2.9).
//
// The set is an array with each session's index kept on the session (removal swaps the last one
// in), not a JS Set. A Set that churns thousands of entries a second keeps replacing its hash
// table, and V8 links each obsolete table to its successor for live iterators. Once such tables
// reach the old generation they are dead but still point at young sessions, so every scavenge
// kept megabytes of finished sessions alive until the next full collection. Scavenges grew from
// 0.3 ms to 8–19 ms, with a full collection every few seconds (ADR 0004, run 9).
import type { EngineConn } from './engine.js';

/** What a listener needs of a session. */
export interface TrackedSession {
  readonly conn: EngineConn | undefined;
  /** Where the set holds this session (-1 when it holds it nowhere); only SessionSet writes it. */
  sessionSlot: number;
  sweep(now: number): void;
  abort(): void;
}

export class SessionSet<S extends TrackedSession> implements Iterable<S> {
  private readonly live: S[] = [];
  private waiters: (() => void)[] = [];

  /**
   * `deferWake`: resolve drain waiters from setImmediate. Native sessions end inside a libuv
   * callback, where Node runs no microtask checkpoint, so a promise settled there would wait for
   * the next unrelated callback.
   */
  constructor(private readonly deferWake = false) {}

  get size(): number {
    return this.live.length;
  }

  /** A copy to walk (tests, listings): sweep and abortWhere walk the array itself, without one. */
  [Symbol.iterator](): Iterator<S> {
    return this.live.slice()[Symbol.iterator]();
  }

  add(s: S): void {
    if (s.sessionSlot >= 0) return;
    s.sessionSlot = this.live.length;
    this.live.push(s);
  }

  /** A session ended: forget it, and wake the drain waiters when it was the last. */
  done(s: S): void {
    const i = s.sessionSlot;
    if (i < 0 || this.live[i] !== s) return;
    const last = this.live.pop()!;
    if (last !== s) {
      this.live[i] = last;
      last.sessionSlot = i;
    }
    s.sessionSlot = -1;
    if (this.live.length > 0 || this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    if (this.deferWake) setImmediate(() => { for (const f of w) f(); });
    else for (const f of w) f();
  }

  /** Resolves when no session is left (or at once). */
  drained(): Promise<void> {
    if (this.live.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  sweep(now: number): void {
    this.visit((s) => s.sweep(now));
  }

  /** Aborts (resets) the sessions `pred` picks; returns how many. */
  abortWhere(pred: (s: S) => boolean): number {
    let n = 0;
    this.visit((s) => { if (pred(s)) { s.abort(); n++; } });
    return n;
  }

  /**
   * Calls fn for every session, last first and without a copy (the sweep walks every session four
   * times a second). A session that ends in fn is swapped with the last one, which was already
   * visited, so none is skipped or seen twice.
   */
  private visit(fn: (s: S) => void): void {
    const live = this.live;
    for (let i = live.length - 1; i >= 0; i--) {
      if (i < live.length) fn(live[i]);
    }
  }
}
