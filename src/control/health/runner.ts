// One HealthCheckRunner drives one Checker with keepalived's timing (spec §7.3, check_tcp.c
// tcp_epilog): a probe every delay_loop, each bounded by connect_timeout through its AbortSignal;
// a failure while fewer than `retry` retries were made schedules a retry after delay_before_retry
// and changes nothing, the next failure marks the checker down (so an up TCP_CHECK with retry 1
// goes down after 2 consecutive failures); a success marks it up at once and resets the count.
// The first probe starts after a random warmup; events are emitted on transitions only, and
// stop() aborts the probe in flight and leaves no timer or socket behind.
import { performance } from 'node:perf_hooks';
import { checkInt, timeoutReason, type CheckResult, type Checker } from './checker.js';

/** keepalived's checker kinds, for their per-kind defaults. */
export type CheckerKind = 'TCP_CHECK' | 'HTTP_GET' | 'SSL_GET' | 'SMTP_CHECK' | 'DNS_CHECK' | 'MISC_CHECK' | 'UDP_CHECK';

/** The timing options of one runner; see RunnerOptions for their meaning. */
export interface CheckerTiming {
  readonly retry: number;
  readonly delayBeforeRetryMs: number;
  readonly connectTimeoutMs: number;
}

/**
 * keepalived's defaults by checker kind (spec §7.1): retry 1 (MISC_CHECK 0, DNS_CHECK 3),
 * delay_before_retry 1 s (HTTP_GET/SSL_GET 3 s, DNS_CHECK = delay_loop), connect_timeout 5 s.
 */
export function checkerDefaults(kind: CheckerKind, delayLoopMs: number): CheckerTiming {
  const retry = kind === 'MISC_CHECK' ? 0 : kind === 'DNS_CHECK' ? 3 : 1;
  const delayBeforeRetryMs = kind === 'HTTP_GET' || kind === 'SSL_GET' ? 3000 : kind === 'DNS_CHECK' ? delayLoopMs : 1000;
  return { retry, delayBeforeRetryMs, connectTimeoutMs: 5000 };
}

/** A change of a checker's state (or, while up, of its dynamic weight). */
export interface HealthTransition {
  /** The checker's describe() text. */
  readonly checker: string;
  /** The new state. */
  readonly up: boolean;
  /** The dynamic weight the last probe asked for (MISC_CHECK misc_dynamic), if any. */
  readonly weight?: number;
  /** The probe that caused the change. */
  readonly result: CheckResult;
}

/** Options of a HealthCheckRunner. Times are in milliseconds. */
export interface RunnerOptions {
  /** The probe to run. */
  readonly checker: Checker;
  /** delay_loop: pause between probes; default 60000. */
  readonly delayLoopMs?: number;
  /** connect_timeout: bound of each probe (unless the checker has timeoutMs); default 5000. */
  readonly connectTimeoutMs?: number;
  /** retry: failures tolerated, each retried after delay_before_retry; default 1. */
  readonly retry?: number;
  /** delay_before_retry; default 1000. */
  readonly delayBeforeRetryMs?: number;
  /** warmup: first probe after a random delay in [0, warmup); default delay_loop; 0 = at once. */
  readonly warmupMs?: number;
  /** alpha: start down instead of up. */
  readonly alpha?: boolean;
  /** tsvs extension: consecutive successes needed to go up; default 1 (keepalived). */
  readonly rise?: number;
  /** tsvs extension: consecutive failures needed to go down; sets retry to fall − 1. */
  readonly fall?: number;
  /** Uniform random number in [0, 1) for the warmup; default Math.random. */
  readonly random?: () => number;
  /** Called on every state change (and on a dynamic weight change while up). */
  readonly onTransition?: (t: HealthTransition) => void;
  /** Called after every probe, e.g. for metrics or log_all_failures. */
  readonly onResult?: (r: CheckResult) => void;
}

const MAX_MS = 2 ** 31 - 1;

/** Runs one checker on keepalived's schedule and reports its transitions. */
export class HealthCheckRunner {
  private readonly checker: Checker;
  private readonly delayLoopMs: number;
  private readonly timeoutMs: number;
  private readonly retry: number;
  private readonly delayBeforeRetryMs: number;
  private readonly warmupMs: number;
  private readonly rise: number;
  private readonly random: () => number;
  private readonly onTransition?: (t: HealthTransition) => void;
  private readonly onResult?: (r: CheckResult) => void;

  private isUp: boolean;
  private weight?: number;
  private retryIt = 0;
  private okStreak = 0;
  private last?: CheckResult;
  private running = false;
  private timer?: NodeJS.Timeout;
  private probe?: { controller: AbortController; done: Promise<void> };

  /** @param opts checker and timing; every option is validated here (RangeError naming it). */
  constructor(opts: RunnerOptions) {
    const int = (field: string, v: number, min: number, max = MAX_MS): number => {
      checkInt('HealthCheckRunner', field, v, min, max);
      return v;
    };
    this.checker = opts.checker;
    this.delayLoopMs = int('delayLoopMs', opts.delayLoopMs ?? 60000, 1);
    this.timeoutMs = int('timeoutMs', opts.checker.timeoutMs ?? opts.connectTimeoutMs ?? 5000, 1);
    this.retry = opts.fall !== undefined ? int('fall', opts.fall, 1, 1000) - 1 : int('retry', opts.retry ?? 1, 0, 1000);
    this.delayBeforeRetryMs = int('delayBeforeRetryMs', opts.delayBeforeRetryMs ?? 1000, 0);
    this.warmupMs = int('warmupMs', opts.warmupMs ?? this.delayLoopMs, 0);
    this.rise = int('rise', opts.rise ?? 1, 1, 1000);
    this.random = opts.random ?? Math.random;
    this.onTransition = opts.onTransition;
    this.onResult = opts.onResult;
    this.isUp = !opts.alpha;
  }

  /** The checker's current state: up unless started with alpha, until probes say otherwise. */
  get up(): boolean {
    return this.isUp;
  }

  /** The last probe's result, if any probe has finished. */
  get lastResult(): CheckResult | undefined {
    return this.last;
  }

  /** The checker's describe() text. */
  describe(): string {
    return this.checker.describe();
  }

  /** Starts probing after the warmup; calling it while running does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const warmup = this.warmupMs > 0 ? Math.floor(this.random() * this.warmupMs) : 0;
    this.schedule(warmup);
  }

  /** Stops: cancels the timer, aborts the probe in flight and resolves once it has let go. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const p = this.probe;
    if (p) {
      p.controller.abort(new Error('health check runner stopped'));
      await p.done;
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runOnce();
    }, ms);
  }

  private runOnce(): void {
    const controller = new AbortController();
    const bound = setTimeout(() => controller.abort(timeoutReason(this.timeoutMs)), this.timeoutMs);
    const start = performance.now();
    // Promise.resolve().then: a checker that throws synchronously is a failed probe too.
    const done = Promise.resolve()
      .then(() => this.checker.check(controller.signal))
      .catch((err: unknown): CheckResult => ({
        // A checker must not reject; if one does, that is a failed probe, not a crash.
        ok: false,
        durationMs: performance.now() - start,
        detail: `${this.checker.describe()}: ${err instanceof Error ? err.message : String(err)}`,
      }))
      .then((r) => {
        clearTimeout(bound);
        this.probe = undefined;
        if (!this.running) return;
        let delay = this.delayLoopMs;
        try {
          delay = this.settle(r);
        } finally {
          // Even if a listener throws, the checker keeps its schedule.
          this.schedule(delay);
        }
      });
    this.probe = { controller, done };
  }

  /** Applies one result to the state (keepalived's tcp_epilog); returns the delay to the next probe. */
  private settle(r: CheckResult): number {
    this.last = r;
    this.onResult?.(r);
    if (r.ok) {
      this.retryIt = 0;
      if (!this.isUp) {
        this.okStreak++;
        if (this.okStreak >= this.rise) {
          this.isUp = true;
          this.weight = r.weight;
          this.emit(r);
        }
      } else if (r.weight !== undefined && r.weight !== this.weight) {
        this.weight = r.weight;
        this.emit(r);
      }
      return this.delayLoopMs;
    }
    this.okStreak = 0;
    if (this.retryIt < this.retry) {
      this.retryIt++;
      return this.delayBeforeRetryMs;
    }
    this.retryIt = 0;
    if (this.isUp) {
      this.isUp = false;
      this.emit(r);
    }
    return this.delayLoopMs;
  }

  private emit(r: CheckResult): void {
    const t: HealthTransition = this.weight === undefined || !this.isUp
      ? { checker: this.checker.describe(), up: this.isUp, result: r }
      : { checker: this.checker.describe(), up: this.isUp, weight: this.weight, result: r };
    this.onTransition?.(t);
  }
}
