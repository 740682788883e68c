// A listener's live sessions, whichever socket path carries them: the set the sweep walks, the
// drain waiters (a retired or stopping listener waits for its sessions to end), and the
// expire_nodest_conn aborts (spec §2.9).
import type { EngineConn } from './engine.js';

/** What a listener needs of a session. */
export interface TrackedSession {
  readonly conn: EngineConn | undefined;
  sweep(now: number): void;
  abort(): void;
}

export class SessionSet<S extends TrackedSession> implements Iterable<S> {
  private readonly live = new Set<S>();
  private waiters: (() => void)[] = [];

  /**
   * `deferWake`: resolve drain waiters from setImmediate. Native sessions end inside a libuv
   * callback, where Node runs no microtask checkpoint, so a promise settled there would wait for
   * the next unrelated callback.
   */
  constructor(private readonly deferWake = false) {}

  get size(): number {
    return this.live.size;
  }

  [Symbol.iterator](): Iterator<S> {
    return this.live[Symbol.iterator]();
  }

  add(s: S): void {
    this.live.add(s);
  }

  /** A session ended: forget it, and wake the drain waiters when it was the last. */
  done(s: S): void {
    this.live.delete(s);
    if (this.live.size > 0 || this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    if (this.deferWake) setImmediate(() => { for (const f of w) f(); });
    else for (const f of w) f();
  }

  /** Resolves when no session is left (or at once). */
  drained(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  sweep(now: number): void {
    for (const s of this.live) s.sweep(now);
  }

  /** Aborts (resets) the sessions `pred` picks; returns how many. */
  abortWhere(pred: (s: S) => boolean): number {
    let n = 0;
    for (const s of this.live) if (pred(s)) { s.abort(); n++; }
    return n;
  }
}
