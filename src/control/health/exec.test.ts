import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ExecChecker } from './exec.js';
import { activeHandles, handlesSettle, within } from './test-helpers.js';

test('MISC_CHECK maps exit statuses: 0 up, 1 down, 2..255 down unless misc_dynamic (spec §7.3 MISC_CHECK)', async () => {
  const rows: { argv: string[]; dynamic?: boolean; ok: boolean; weight?: number; detail: string }[] = [
    { argv: ['/bin/true'], ok: true, detail: 'MISC_CHECK /bin/true: exit status 0' },
    { argv: ['/bin/false'], ok: false, detail: 'MISC_CHECK /bin/false: exit status 1' },
    { argv: ['sh', '-c', 'exit 7'], ok: false, detail: 'MISC_CHECK sh: exit status 7' },
    { argv: ['sh', '-c', 'exit 7'], dynamic: true, ok: true, weight: 5, detail: 'MISC_CHECK sh: exit status 7, weight 5' },
    { argv: ['sh', '-c', 'exit 2'], dynamic: true, ok: true, weight: 0, detail: 'MISC_CHECK sh: exit status 2, weight 0' },
    { argv: ['sh', '-c', 'exit 1'], dynamic: true, ok: false, detail: 'MISC_CHECK sh: exit status 1' },
    { argv: ['sh', '-c', 'exit 255'], dynamic: true, ok: true, weight: 253, detail: 'MISC_CHECK sh: exit status 255, weight 253' },
    { argv: ['/nonexistent/tsvs-check'], ok: false, detail: 'MISC_CHECK /nonexistent/tsvs-check: cannot run: ENOENT' },
  ];
  for (const row of rows) {
    const r = await new ExecChecker({ argv: row.argv, dynamic: row.dynamic }).check(within(10000));
    assert.deepEqual({ ok: r.ok, weight: r.weight, detail: r.detail }, { ok: row.ok, weight: row.weight, detail: row.detail }, row.argv.join(' '));
  }
});

test('MISC_CHECK passes argv without a shell: metacharacters reach the program verbatim', async () => {
  // With a shell, `exit 0; exit 1` would run; as one argv element to /bin/test it is just a string.
  const r = await new ExecChecker({ argv: ['/usr/bin/test', '$(exit 1)', '=', '$(exit 1)'] }).check(within(10000));
  assert.equal(r.ok, true, r.detail);
  const r2 = await new ExecChecker({ argv: ['/usr/bin/test', 'a;b', '=', 'a'] }).check(within(10000));
  assert.equal(r2.ok, false);
});

function pgrep(pattern: string): string {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

test('MISC_CHECK timeout kills the whole process group, grandchildren included', async () => {
  // A unique fractional duration marks our sleeps for pgrep (GNU and busybox sleep accept it).
  const marker = `3${process.pid % 10}.${process.pid}${Date.now() % 100000}`;
  const baseline = activeHandles();
  // sh starts a background sleep (a grandchild) and waits; the timeout must kill both.
  const c = new ExecChecker({ argv: ['sh', '-c', `sleep ${marker} & sleep ${marker}; wait`], timeoutMs: 2000 });
  assert.equal(c.timeoutMs, 2000);
  const start = Date.now();
  const pending = c.check(within(2000));
  // First see both sleeps running, so the test can tell "killed" from "never started".
  let seen = 0;
  while (seen < 2 && Date.now() - start < 1800) {
    await new Promise((res) => setTimeout(res, 25));
    seen = pgrep(`^sleep ${marker}$`).split('\n').filter(Boolean).length;
  }
  assert.equal(seen, 2, 'both sleeps should be running before the timeout');
  const r = await pending;
  assert.equal(r.ok, false);
  assert.equal(r.detail, 'MISC_CHECK sh: timed out');
  assert.ok(Date.now() - start < 10000);
  const deadline = Date.now() + 5000;
  let left = '';
  do {
    left = pgrep(`^sleep ${marker}$`);
    if (left) await new Promise((res) => setTimeout(res, 50));
  } while (left && Date.now() < deadline);
  assert.equal(left, '', `processes left: ${left}`);
  const handles = await handlesSettle(baseline);
  assert.ok(handles <= baseline, `${handles} handles left, ${baseline} before`);
});

test('MISC_CHECK rejects an empty argv and a bad timeout', () => {
  assert.throws(() => new ExecChecker({ argv: [] }), /'argv' must name a program/);
  assert.throws(() => new ExecChecker({ argv: ['/bin/true'], timeoutMs: 0 }), /'timeoutMs' must be an integer/);
});
