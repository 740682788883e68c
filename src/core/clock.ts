// Time for the pure core. The core never reads the wall clock: data planes pass a real clock,
// tests and `tsvs simulate` pass a ManualClock they advance themselves.

/** A monotonic millisecond clock. */
export interface Clock {
  nowMs(): number;
}

/** A clock that moves only when told to (tests, the simulator). */
export class ManualClock implements Clock {
  private now: number;
  constructor(startMs = 0) {
    this.now = startMs;
  }
  nowMs(): number {
    return this.now;
  }
  /** Moves time forward by `ms` (never backwards). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`Cannot advance the clock as 'ms' must be >= 0: current value is ${ms}`);
    this.now += ms;
  }
  /** Sets the time, which must not be earlier than now. */
  set(ms: number): void {
    if (!(ms >= this.now)) throw new RangeError(`Cannot move the clock back from ${this.now} ms to ${ms} ms`);
    this.now = ms;
  }
}
