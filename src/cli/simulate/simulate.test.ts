// End-to-end tests of `tsvs simulate`, run through the compiled CLI. Expected real servers are
// derived by hand from the spec's scheduler and persistence rules (cited per test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/tsvs.js', import.meta.url));

function simulate(files: Record<string, string>, args: (dir: string) => string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-sim-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = spawnSync(process.execPath, [CLI, 'simulate', ...args(dir)], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const opens = (n: number, vip: string, t = 0) =>
  Array.from({ length: n }, (_, i) => `${t} open tcp 198.51.100.${i + 1}:4000 ${vip}`).join('\n');

test('wrr with destinations added one by one carries cw over: A B C, A, A B, A B C (spec §1 wrr)', () => {
  // -a C=2, B=3, A=4 in that order: list A,B,C (newest first), cw = 1 after the adds.
  const rules = '-A -t 192.0.2.10:80 -s wrr\n-a -t 192.0.2.10:80 -r 10.0.0.3:80 -m -w 2\n-a -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 3\n-a -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 4\n';
  const r = simulate({ 'rules.txt': rules, 'ev.txt': opens(12, '192.0.2.10:80') }, (d) => ['--rules', join(d, 'rules.txt'), '--events', join(d, 'ev.txt')]);
  assert.equal(r.code, 0, r.stderr);
  const A = '10.0.0.1:80', B = '10.0.0.2:80', C = '10.0.0.3:80';
  assert.deepEqual(r.stdout.trim().split('\n'), [A, B, C, A, A, B, A, B, C, A, B, C]);
});

test('rr skips a destination once it reaches its upper threshold (spec §1 overload flag)', () => {
  // list [Q, P]; P has -x 2: picks Q P Q P, then P is OVERLOAD (2 >= 2) and skipped: Q Q.
  const rules = '-A -t 192.0.2.10:81 -s rr\n-a -t 192.0.2.10:81 -r 10.0.0.16:81 -m -x 2\n-a -t 192.0.2.10:81 -r 10.0.0.17:81 -m\n';
  const r = simulate({ 'rules.txt': rules, 'ev.txt': opens(6, '192.0.2.10:81') }, (d) => ['--rules', join(d, 'rules.txt'), '--events', join(d, 'ev.txt')]);
  assert.equal(r.code, 0, r.stderr);
  const P = '10.0.0.16:81', Q = '10.0.0.17:81';
  assert.deepEqual(r.stdout.trim().split('\n'), [Q, P, Q, P, Q, Q]);
});

test('persistence with -M groups a /24, and the template overrides weight 0 (spec §2.7)', () => {
  // rr over [Y, X]: first client -> Y; same /24 -> Y via the template; other /24 -> X (rr).
  // After Y is set to weight 0, the /24 that has a template still goes to Y; a new /24 goes to X.
  const rules = '-A -t 192.0.2.10:443 -s rr -p 60 -M 255.255.255.0\n-a -t 192.0.2.10:443 -r 10.0.0.1:443 -g\n-a -t 192.0.2.10:443 -r 10.0.0.2:443 -g\n';
  const events = [
    '0 open tcp 198.51.100.1:1000 192.0.2.10:443',
    '1 open tcp 198.51.100.2:1000 192.0.2.10:443',
    '2 open tcp 198.51.101.1:1000 192.0.2.10:443',
    '10 rule -e -t 192.0.2.10:443 -r 10.0.0.2:443 -g -w 0',
    '11 open tcp 198.51.100.5:1000 192.0.2.10:443',
    '12 open tcp 198.51.102.1:1000 192.0.2.10:443',
  ].join('\n');
  const r = simulate({ 'rules.txt': rules, 'ev.txt': events }, (d) => ['--rules', join(d, 'rules.txt'), '--events', join(d, 'ev.txt')]);
  assert.equal(r.code, 0, r.stderr);
  const X = '10.0.0.1:443', Y = '10.0.0.2:443';
  assert.deepEqual(r.stdout.trim().split('\n'), [Y, Y, X, Y, X]);
});

test('a persistence template expires persistence-timeout after the last new connection (spec §2.7, §2.5)', () => {
  // rr over [Z, Y, X] (newest first), -p 10. t=0 client A -> Z (creates a template); t=1 B -> Y.
  // t=30: A's template is past its 10 s, but it still controls A's first conn (SYN_RECV lives 60 s,
  // spec §2.5), so it was re-armed for 60 s instead of expiring (spec §2.4): A sticks to Z.
  // By t=200 everything has expired and A is scheduled afresh: rr continues after Y -> X.
  const rules = '-A -t 192.0.2.10:80 -s rr -p 10\n-a -t 192.0.2.10:80 -r 10.0.0.1:80 -g\n-a -t 192.0.2.10:80 -r 10.0.0.2:80 -g\n-a -t 192.0.2.10:80 -r 10.0.0.3:80 -g\n';
  const events = [
    '0 open tcp 198.51.100.1:1000 192.0.2.10:80',
    '1 open tcp 198.51.100.2:1000 192.0.2.10:80',
    '30 open tcp 198.51.100.1:1001 192.0.2.10:80',
    '200 open tcp 198.51.100.1:1002 192.0.2.10:80',
  ].join('\n');
  const r = simulate({ 'rules.txt': rules, 'ev.txt': events }, (d) => ['--rules', join(d, 'rules.txt'), '--events', join(d, 'ev.txt')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['10.0.0.3:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.1:80']);
});

test('IPv6 services print [addr]:port, and no available destination prints - (spec §2.6)', () => {
  const rules = '-A -u [2001:db8::10]:53 -s rr\n-a -u [2001:db8::10]:53 -r [2001:db8::1]:53 -m\n-A -t 192.0.2.10:80 -s wlc\n-a -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 0\n';
  const events = '0 open udp [2001:db8:1::5]:5353 [2001:db8::10]:53\n0 open tcp 198.51.100.1:1 192.0.2.10:80\n0 open tcp 198.51.100.1:1 192.0.2.99:80\n';
  const r = simulate({ 'rules.txt': rules, 'ev.txt': events }, (d) => ['--rules', join(d, 'rules.txt'), '--events', join(d, 'ev.txt'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.opens.map((o: { dest: string; why?: string }) => [o.dest, o.why ?? '']), [['[2001:db8::1]:53', ''], ['-', 'no-dest'], ['-', 'no-service']]);
});

test('--summary counts connections per real server with weights (spec §1 wrr)', () => {
  const rules = '-A -t 192.0.2.10:80 -s wrr\n-a -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 3\n-a -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 1\n';
  const r = simulate({ 'rules.txt': rules }, (d) => ['--rules', join(d, 'rules.txt'), '--summary', '--flows', '400', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.summary[0].realServers.map((x: { dest: string; connections: number }) => [x.dest, x.connections]), [['10.0.0.1:80', 300], ['10.0.0.2:80', 100]]);
});

test('--diff reports the flows that move when a real server is removed under mh (spec §1 mh)', () => {
  const base = '-A -t 192.0.2.10:80 -s mh\n' + Array.from({ length: 10 }, (_, i) => `-a -t 192.0.2.10:80 -r 10.0.0.${i + 1}:80 -g\n`).join('');
  const fewer = base.replace('-a -t 192.0.2.10:80 -r 10.0.0.5:80 -g\n', '');
  const r = simulate({ 'a.txt': base, 'b.txt': fewer }, (d) => ['--rules', join(d, 'a.txt'), '--diff', join(d, 'b.txt'), '--flows', '20000', '--json', '--summary']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  // Every flow of the removed server must move (about 1/10), and Maglev moves only a little more.
  assert.ok(j.diff.movedShare >= 0.09 && j.diff.movedShare < 0.15, `moved ${j.diff.movedShare}`);
});

test('bad rules and events are rejected with file:line, exit 2 and no partial output', () => {
  const rules = '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 10.0.0.1:80 -w 70000\n';
  const r = simulate({ 'rules.txt': rules }, (d) => ['--rules', join(d, 'rules.txt')]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /rules\.txt:2: /);

  const dup = '-A -t 192.0.2.10:80 -s rr\n-A -t 192.0.2.10:80 -s rr\n';
  const r2 = simulate({ 'rules.txt': dup }, (d) => ['--rules', join(d, 'rules.txt')]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /rules\.txt:2: .*already exists/);

  const ok = '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 10.0.0.1:80\n';
  const r3 = simulate({ 'rules.txt': ok, 'ev.txt': '0 open tcp 1.2.3.4:1 192.0.2.10:80\n1 rule -e -t 192.0.2.10:80 -r 10.0.0.9:80\n' }, (d) => ['--rules', join(d, 'rules.txt'), '--events', join(d, 'ev.txt')]);
  assert.equal(r3.code, 2);
  assert.equal(r3.stdout, '', 'no partial output');
  assert.match(r3.stderr, /ev\.txt:2: .*does not exist/);

  const r4 = simulate({ 'rules.txt': ok }, (d) => ['--rules', join(d, 'rules.txt'), '--flows', 'many']);
  assert.equal(r4.code, 2);
  assert.match(r4.stderr, /--flows must be an integer/);
  const r5 = simulate({}, (d) => ['--rules', join(d, 'missing.txt')]);
  assert.equal(r5.code, 2);
  assert.match(r5.stderr, /missing\.txt:0: cannot read: ENOENT/);
});
