import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/clock.js';
import { Ipvs } from '../../core/conn/ipvs.js';
import { SeededRandom } from '../../core/random.js';
import { registerBuiltinSchedulers } from '../../core/sched/builtin.js';
import { SchedulerRegistry } from '../../core/sched/scheduler.js';
import { parseIp } from '../../core/net/addr.js';
import { Director } from '../../control/director.js';
import { ipvsConnSource } from '../../control/ipvs-conn-source.js';
import { NUMERIC_RESOLVER } from '../ipvsadm/index.js';
import { execTsvsadm, type TsvsadmContext } from './exec.js';

function setup(): TsvsadmContext & { clock: ManualClock; ipvs: Ipvs } {
  const clock = new ManualClock(0);
  const registry = new SchedulerRegistry();
  registerBuiltinSchedulers(registry);
  const random = new SeededRandom(1);
  const director = new Director({ registry, env: { clock, random, mhTableSize: 4093, lblcExpirationS: 86400, lblcrExpirationS: 86400 } });
  const ipvs = new Ipvs(director.table, { clock, random });
  director.setConnSource(ipvsConnSource(ipvs, director.table));
  return { director, ipvs, clock, resolver: NUMERIC_RESOLVER, program: 'tsvsadm' };
}

const run = (ctx: TsvsadmContext, line: string, stdin = '') => execTsvsadm(line.split(' ').filter(Boolean), ctx, stdin);

test('tsvsadm applies -A/-a and lists like ipvsadm -L -n (spec §5.3)', () => {
  const ctx = setup();
  assert.deepEqual(run(ctx, '-A -t 192.0.2.10:80 -s rr'), { stdout: '', stderr: '', exitCode: 0 });
  assert.equal(run(ctx, '-a -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 2').exitCode, 0);
  const out = run(ctx, '-L -n').stdout;
  assert.equal(out,
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
    'Prot LocalAddress:Port Scheduler Flags\n' +
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
    'TCP  192.0.2.10:80 rr\n' +
    '  -> 10.0.0.1:80                  Masq    2      0          0         \n');
});

test('tsvsadm prints ipvsadm errno messages with exit 255 and usage errors with exit 2 (spec §5.2)', () => {
  const ctx = setup();
  run(ctx, '-A -t 192.0.2.10:80');
  assert.deepEqual(run(ctx, '-A -t 192.0.2.10:80'), { stdout: '', stderr: 'Service already exists\n', exitCode: 255 });
  assert.deepEqual(run(ctx, '-a -t 192.0.2.11:80 -r 10.0.0.1:80'), { stdout: '', stderr: 'Service not defined\n', exitCode: 255 });
  assert.deepEqual(run(ctx, '-d -t 192.0.2.10:80 -r 10.0.0.9:80'), { stdout: '', stderr: 'No such destination\n', exitCode: 255 });
  assert.deepEqual(run(ctx, '-D -t 192.0.2.99:80'), { stdout: '', stderr: 'No such service\n', exitCode: 255 });
  assert.deepEqual(run(ctx, '-A -t 192.0.2.12:80 -s nosuch'), { stdout: '', stderr: 'Scheduler or persistence engine not found\n', exitCode: 255 });
  const usage = run(ctx, '-a -t 192.0.2.10:80');
  assert.equal(usage.exitCode, 2);
  assert.match(usage.stderr, /You need to supply the 'real-server' option for the 'add-server' command/);
  assert.equal(run(ctx, '-L -n -t 192.0.2.99:80').exitCode, 1);
});

test('tsvsadm -c lists connections from the engine (spec §5.5)', () => {
  const ctx = setup();
  run(ctx, '-A -t 192.0.2.10:80 -s rr');
  run(ctx, '-a -t 192.0.2.10:80 -r 10.0.0.1:80 -m');
  const r = ctx.ipvs.inbound({ protocol: 'tcp', saddr: parseIp('198.51.100.7')!, sport: 40000, daddr: parseIp('192.0.2.10')!, dport: 80, tcpFlags: 0x02, sctpChunk: 0, fwmark: 0, length: 60 });
  assert.equal(r.kind, 'forward');
  assert.equal(run(ctx, '-L -n -c').stdout,
    'IPVS connection entries\n' +
    'pro expire state       source             virtual            destination\n' +
    'TCP 01:00  SYN_RECV    198.51.100.7:40000 192.0.2.10:80      10.0.0.1:80\n');
  // The connection is active: -L shows ActiveConn 1 (spec §2.5).
  assert.match(run(ctx, '-L -n').stdout, /Masq {4}1 {6}1 {10}0 {9}\n$/);
});

test('tsvsadm --set, --timeout, -Z, -S and -R round-trip (spec §5.6, §5.7)', () => {
  const ctx = setup();
  assert.equal(run(ctx, '--set 60 0 30').exitCode, 0);
  assert.equal(run(ctx, '-L --timeout').stdout, 'Timeout (tcp tcpfin udp): 60 120 30\n');
  const rules = '-A -t 192.0.2.10:80 -s wlc -p 360 -M 255.255.255.0\n-a -t 192.0.2.10:80 -r 10.0.0.1:80 -g -w 3\n-A -u 192.0.2.10:53 -s sh -b sh-fallback,sh-port\n-a -u 192.0.2.10:53 -r 10.0.0.2:53 -m -w 1\n';
  const restored = run(ctx, '-R', rules);
  assert.equal(restored.exitCode, 0, restored.stderr);
  assert.equal(run(ctx, '-S -n').stdout, rules);
  assert.equal(run(ctx, '-Z').exitCode, 0);
  const bad = run(ctx, '-R', '-A -t 192.0.2.20:80\n-A -t 192.0.2.20:80\n-A -t 192.0.2.21:80\n');
  assert.equal(bad.stderr, 'Service already exists\n');
  assert.equal(bad.exitCode, 0, 'exit status is the last line\'s');
  assert.ok(ctx.director.table.getService({ kind: 'addr', protocol: 'tcp', addr: parseIp('192.0.2.21')!, port: 80 }));
});
