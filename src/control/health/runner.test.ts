import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { abortedByTimeout, type CheckResult, type Checker } from './checker.js';
import { HealthCheckRunner, checkerDefaults, type HealthTransition, type RunnerOptions } from './runner.js';
import { TcpChecker } from './tcp.js';
import { activeHandles, handlesSettle, loopback, tcpServer } from './test-helpers.js';

/** Answers from a script (true/false or {ok, weight}); the last entry repeats. */
class ScriptedChecker implements Checker {
  readonly calls: number[] = [];
  constructor(private readonly script: readonly (boolean | { ok: boolean; weight?: number })[]) {}
  describe(): string {
    return 'SCRIPTED';
  }
  async check(): Promise<CheckResult> {
    const i = this.calls.length;
    this.calls.push(performance.now());
    const s = this.script[Math.min(i, this.script.length - 1)]!;
    const ok = typeof s === 'boolean' ? s : s.ok;
    const weight = typeof s === 'boolean' ? undefined : s.weight;
    return { ok, durationMs: 0, detail: `probe ${i + 1} ${ok ? 'ok' : 'failed'}`, ...(weight !== undefined ? { weight } : {}) };
  }
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Runs `script` to `probes` probes with fast timing and returns the transitions as "up@n"/"down@n". */
async function run(script: ConstructorParameters<typeof ScriptedChecker>[0], probes: number, opts: Partial<RunnerOptions> = {}) {
  const checker = new ScriptedChecker(script);
  const events: string[] = [];
  const transitions: HealthTransition[] = [];
  const runner = new HealthCheckRunner({
    checker, delayLoopMs: 10, delayBeforeRetryMs: 5, warmupMs: 0, ...opts,
    onTransition: (t) => {
      transitions.push(t);
      events.push(`${t.up ? 'up' : 'down'}@${checker.calls.length}${t.weight !== undefined ? ` w${t.weight}` : ''}`);
    },
  });
  runner.start();
  try {
    await waitFor(() => checker.calls.length >= probes && runner.lastResult?.detail.startsWith(`probe ${probes} `) === true);
  } finally {
    await runner.stop();
  }
  return { events, transitions, runner, checker };
}

const OK = true;
const KO = false;

test('runner: an up checker goes down only after `retry` further failures (default TCP_CHECK: 2 in a row, spec §7.3)', async () => {
  const rows: { name: string; script: boolean[]; opts?: Partial<RunnerOptions>; events: string[] }[] = [
    { name: 'retry 1: down on the 2nd consecutive failure', script: [OK, KO, KO, KO], events: ['down@3'] },
    { name: 'retry 1: a success between failures resets the count', script: [OK, KO, OK, KO, OK, KO, KO], events: ['down@7'] },
    { name: 'retry 0 (MISC_CHECK default): down on the 1st failure', script: [OK, KO], opts: { retry: 0 }, events: ['down@2'] },
    { name: 'retry 3 (DNS_CHECK default): down on the 4th consecutive failure', script: [KO, KO, KO, OK, KO, KO, KO, KO], opts: { retry: 3 }, events: ['down@8'] },
    { name: 'down goes up on the first success', script: [KO, KO, OK], events: ['down@2', 'up@3'] },
    { name: 'failures of a down checker emit nothing more', script: [KO, KO, KO, KO, KO, KO], events: ['down@2'] },
    { name: 'flapping', script: [KO, KO, OK, KO, KO, OK], events: ['down@2', 'up@3', 'down@5', 'up@6'] },
  ];
  for (const row of rows) {
    const { events } = await run(row.script, row.script.length, row.opts);
    assert.deepEqual(events, row.events, row.name);
  }
});

test('runner: alpha starts down; the first success brings it up, failures before that emit nothing (spec §7.2 alpha)', async () => {
  const { events, runner } = await run([KO, KO, KO, OK], 4, { alpha: true });
  assert.deepEqual(events, ['up@4']);
  assert.equal(runner.up, true);
  const idle = new HealthCheckRunner({ checker: new ScriptedChecker([OK]), alpha: true });
  assert.equal(idle.up, false);
  assert.equal(new HealthCheckRunner({ checker: new ScriptedChecker([OK]) }).up, true);
});

test('runner: rise and fall (tsvs extension) count consecutive results', async () => {
  const rows: { script: boolean[]; opts: Partial<RunnerOptions>; events: string[] }[] = [
    { script: [KO, KO, KO, KO], opts: { fall: 3 }, events: ['down@3'] },
    { script: [KO, KO, OK, KO, OK, OK], opts: { fall: 2, rise: 2 }, events: ['down@2', 'up@6'] },
    { script: [OK, OK, OK], opts: { alpha: true, rise: 3 }, events: ['up@3'] },
  ];
  for (const row of rows) assert.deepEqual((await run(row.script, row.script.length, row.opts)).events, row.events, JSON.stringify(row.opts));
});

test('runner: dynamic weights are reported while up, only when they change', async () => {
  const { events, transitions } = await run([{ ok: true, weight: 3 }, { ok: true, weight: 3 }, { ok: true, weight: 5 }, KO], 4, { retry: 0 });
  assert.deepEqual(events, ['up@1 w3', 'up@3 w5', 'down@4']);
  assert.equal(transitions[0]!.result.detail, 'probe 1 ok');
});

test('runner: a retry waits delay_before_retry, the next regular probe waits delay_loop', async () => {
  const { checker } = await run([OK, KO, KO, OK], 4, { delayLoopMs: 600, delayBeforeRetryMs: 20 });
  const [t1, t2, t3, t4] = checker.calls as [number, number, number, number];
  assert.ok(t2 - t1 >= 550, `after a success: ${t2 - t1} ms`);
  assert.ok(t3 - t2 < 450, `retry after a failure: ${t3 - t2} ms`);
  assert.ok(t4 - t3 >= 550, `after the retries are used up: ${t4 - t3} ms`);
});

test('runner: warmup delays the first probe by random × warmup', async () => {
  const checker = new ScriptedChecker([OK]);
  const runner = new HealthCheckRunner({ checker, delayLoopMs: 60000, warmupMs: 600, random: () => 0.5 });
  const start = performance.now();
  runner.start();
  await waitFor(() => checker.calls.length === 1);
  await runner.stop();
  assert.ok(checker.calls[0]! - start >= 280, `first probe after ${checker.calls[0]! - start} ms`);
});

test('runner: connect_timeout aborts each probe with a TimeoutError reason; a checker timeoutMs wins', async () => {
  for (const [opts, checkerTimeout, want] of [[{ connectTimeoutMs: 50 }, undefined, 50], [{ connectTimeoutMs: 5000 }, 60, 60]] as const) {
    let seen: { timeout: boolean; after: number } | undefined;
    const checker: Checker = {
      describe: () => 'HANGS',
      ...(checkerTimeout !== undefined ? { timeoutMs: checkerTimeout } : {}),
      check: (signal) => {
        const start = performance.now();
        return new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            seen = { timeout: abortedByTimeout(signal), after: performance.now() - start };
            resolve({ ok: false, durationMs: 0, detail: 'hung' });
          });
        });
      },
    };
    const runner = new HealthCheckRunner({ checker, warmupMs: 0, delayLoopMs: 60000, ...opts });
    runner.start();
    await waitFor(() => seen !== undefined);
    await runner.stop();
    assert.equal(seen!.timeout, true);
    assert.ok(seen!.after >= want - 5 && seen!.after < want + 3000, `aborted after ${seen!.after} ms, bound ${want}`);
  }
});

test('runner: stop() aborts the probe in flight (not as a timeout), emits nothing after, leaves no handle', async () => {
  const baseline = activeHandles();
  let aborted: boolean | undefined;
  let started = false;
  const checker: Checker = {
    describe: () => 'SLOW',
    check: (signal) => {
      started = true;
      return new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = !abortedByTimeout(signal);
          resolve({ ok: false, durationMs: 0, detail: 'stopped' });
        });
      });
    },
  };
  const events: HealthTransition[] = [];
  const runner = new HealthCheckRunner({ checker, warmupMs: 0, retry: 0, connectTimeoutMs: 60000, onTransition: (t) => events.push(t) });
  runner.start();
  await waitFor(() => started);
  await runner.stop();
  assert.equal(aborted, true);
  assert.deepEqual(events, []);
  const left = await handlesSettle(baseline);
  assert.ok(left <= baseline, `${left} handles left, ${baseline} before`);
});

test('runner with a real TCP_CHECK: server gone → down after 2 failures, back → up; stop leaves nothing', async () => {
  const srv = await tcpServer((s) => s.end());
  const baseline = activeHandles();
  const events: boolean[] = [];
  const runner = new HealthCheckRunner({
    checker: new TcpChecker(loopback(srv.port)), delayLoopMs: 20, delayBeforeRetryMs: 10, warmupMs: 0, connectTimeoutMs: 2000,
    onTransition: (t) => events.push(t.up),
  });
  runner.start();
  await waitFor(() => runner.lastResult?.ok === true);
  await srv.close();
  await waitFor(() => events.length === 1);
  assert.deepEqual(events, [false]);
  assert.match(runner.lastResult!.detail, /connection refused$/);
  const again = await tcpServer((s) => s.end());
  const back = new HealthCheckRunner({
    checker: new TcpChecker(loopback(again.port)), delayLoopMs: 20, warmupMs: 0, alpha: true, onTransition: (t) => events.push(t.up),
  });
  back.start();
  await waitFor(() => events.length === 2);
  await runner.stop();
  await back.stop();
  await again.close();
  assert.deepEqual(events, [false, true]);
  const left = await handlesSettle(baseline);
  assert.ok(left <= baseline, `${left} handles left, ${baseline} before`);
});

test('runner: a checker that throws or rejects counts as a failed probe, and probing goes on', async () => {
  let calls = 0;
  const events: HealthTransition[] = [];
  const checker: Checker = {
    describe: () => 'BROKEN',
    check: () => {
      calls++;
      if (calls === 1) throw new Error('sync boom');
      return Promise.reject(new Error('async boom'));
    },
  };
  const runner = new HealthCheckRunner({ checker, delayLoopMs: 10, warmupMs: 0, retry: 0, onTransition: (t) => events.push(t) });
  runner.start();
  await waitFor(() => calls >= 3);
  await runner.stop();
  assert.deepEqual(events.map((e) => [e.up, e.result.detail]), [[false, 'BROKEN: sync boom']]);
  assert.equal(runner.lastResult?.ok, false);
});

test('runner: keepalived defaults per checker kind (spec §7.1)', () => {
  assert.deepEqual(checkerDefaults('TCP_CHECK', 60000), { retry: 1, delayBeforeRetryMs: 1000, connectTimeoutMs: 5000 });
  assert.deepEqual(checkerDefaults('HTTP_GET', 60000), { retry: 1, delayBeforeRetryMs: 3000, connectTimeoutMs: 5000 });
  assert.deepEqual(checkerDefaults('SSL_GET', 60000), { retry: 1, delayBeforeRetryMs: 3000, connectTimeoutMs: 5000 });
  assert.deepEqual(checkerDefaults('MISC_CHECK', 60000), { retry: 0, delayBeforeRetryMs: 1000, connectTimeoutMs: 5000 });
  assert.deepEqual(checkerDefaults('DNS_CHECK', 7000), { retry: 3, delayBeforeRetryMs: 7000, connectTimeoutMs: 5000 });
});

test('runner: options are validated at construction', () => {
  const checker = new ScriptedChecker([OK]);
  assert.throws(() => new HealthCheckRunner({ checker, delayLoopMs: 0 }), /'delayLoopMs' must be an integer in 1\.\./);
  assert.throws(() => new HealthCheckRunner({ checker, retry: -1 }), /'retry' must be an integer in 0\.\.1000: current value is -1/);
  assert.throws(() => new HealthCheckRunner({ checker, fall: 0 }), /'fall' must be an integer in 1\.\.1000/);
  assert.throws(() => new HealthCheckRunner({ checker, rise: 1.5 }), /'rise'/);
});
