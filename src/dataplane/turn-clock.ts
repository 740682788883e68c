// The process's monotonic clock for the engine (connection timers, rate estimators). The proxy
// plane feeds the engine seven events per TCP connection; reading performance.now() at each was
// about 15 % of the engine's time per connection in a micro-benchmark. An event-loop turn holds
// one reading for the events it handles, as the kernel's jiffies hold for a softirq run; outside
// a turn (control requests, timers) every read is exact.
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.js';

export class TurnClock implements Clock {
  private held = -1;

  nowMs(): number {
    return this.held >= 0 ? this.held : performance.now();
  }

  /** Reads the time once for everything handled until release(). */
  hold(): void {
    this.held = performance.now();
  }

  release(): void {
    this.held = -1;
  }
}

/** The one clock of the process: the daemon's engine reads it, the native socket loop holds it per turn. */
export const PROCESS_CLOCK = new TurnClock();
