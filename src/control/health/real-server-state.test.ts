import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEndpoint, parseIp, type Endpoint } from '../../core/net/addr.js';
import type { ServiceKey } from '../../core/service/types.js';
import { RealServerState, type RealServerSpec, type VirtualServiceHealthSpec } from './real-server-state.js';

const SERVICE: ServiceKey = { kind: 'addr', protocol: 'tcp', addr: parseIp('198.18.0.1')!, port: 80 };
const ep = (host: string, port = 80): Endpoint => ({ addr: parseIp(host)!, port });
const A = ep('198.18.1.1');
const B = ep('198.18.1.2');
const C = ep('198.18.1.3');
const D = ep('198.18.1.4');
const SORRY = ep('198.18.9.9');
const name = (e: Endpoint): string => formatEndpoint(e.addr, e.port).replace('198.18.', '');

type Step = [Endpoint, string, boolean] | ['weight', Endpoint, number] | ['shutdown'];

/** Runs `steps` after start(); returns what was emitted per phase as compact strings. */
function play(spec: Omit<VirtualServiceHealthSpec, 'service'>, steps: Step[]) {
  const out: string[] = [];
  const s = new RealServerState({ service: SERVICE, ...spec }, {
    onChange: (c) => {
      assert.equal(c.service, SERVICE);
      const who = `${c.role === 'sorry' ? 'sorry ' : ''}${name(c.dest)}`;
      out.push(c.kind === 'remove' ? `remove ${who}` : `${c.kind} ${who} w${c.weight}`);
    },
    onNotice: (n) =>
      out.push('dest' in n
        ? `${n.kind} ${name(n.dest)}${n.stopping ? ' (stopping)' : ''}`
        : `${n.kind} ${n.weightSum}/${n.threshold}${n.init ? ' (init)' : ''}${n.stopping ? ' (stopping)' : ''}`),
  });
  s.start();
  const phases = [out.splice(0)];
  for (const step of steps) {
    if (step[0] === 'shutdown') s.shutdown();
    else if (step[0] === 'weight') s.setWeight(step[1], step[2]);
    else s.setCheckerState(step[0], step[1], step[2]);
    phases.push(out.splice(0));
  }
  return { phases, state: s };
}

const rs = (dest: Endpoint, extra: Partial<RealServerSpec> = {}): RealServerSpec => ({ dest, checkers: ['tcp'], ...extra });

test('a real server is alive iff all its checkers are up; the first failure removes it (spec §7.2)', () => {
  const { phases } = play({ realServers: [rs(A, { checkers: ['tcp', 'http'], weight: 3 }), rs(B)] }, [
    [A, 'http', false],
    [A, 'tcp', false],
    [A, 'http', true],
    [A, 'tcp', true],
  ]);
  assert.deepEqual(phases, [
    ['add 1.1:80 w3', 'add 1.2:80 w1'],
    ['rs-down 1.1:80', 'remove 1.1:80'],
    [],
    [],
    ['rs-up 1.1:80', 'add 1.1:80 w3'],
  ]);
});

test('inhibit_on_failure keeps a dead server at weight 0 instead of removing it (spec §7.2)', () => {
  const { phases } = play({ realServers: [rs(A, { inhibitOnFailure: true, weight: 5 }), rs(B)] }, [[A, 'tcp', false], [A, 'tcp', true]]);
  assert.deepEqual(phases, [
    ['add 1.1:80 w5', 'add 1.2:80 w1'],
    ['rs-down 1.1:80', 'set-weight 1.1:80 w0'],
    ['rs-up 1.1:80', 'set-weight 1.1:80 w5'],
  ]);
});

test('alpha: servers with checkers start down and join on success; inhibit ones start at weight 0 (spec §7.2 alpha)', () => {
  const { phases } = play({ alpha: true, quorum: 1, realServers: [rs(A), rs(B, { inhibitOnFailure: true, weight: 2 }), rs(C, { checkers: [] })] }, [
    [A, 'tcp', true],
    [B, 'tcp', true],
  ]);
  assert.deepEqual(phases, [
    ['add 1.2:80 w0', 'add 1.3:80 w1'],
    ['rs-up 1.1:80', 'add 1.1:80 w1'],
    ['rs-up 1.2:80', 'set-weight 1.2:80 w2'],
  ]);
});

test('quorum loss swaps the pool for the sorry server, gain swaps back (spec §7.2 quorum, sorry_server)', () => {
  const { phases } = play({ quorum: 2, sorryServer: SORRY, realServers: [rs(A), rs(B), rs(C)] }, [
    [A, 'tcp', false], // weight_sum 2 >= 2: keeps quorum
    [B, 'tcp', false], // 1 < 2: lost
    [B, 'tcp', true], // 2 >= 2: gained
  ]);
  assert.deepEqual(phases, [
    ['add 1.1:80 w1', 'add 1.2:80 w1', 'add 1.3:80 w1'],
    ['rs-down 1.1:80', 'remove 1.1:80'],
    ['rs-down 1.2:80', 'quorum-down 1/2', 'remove 1.2:80', 'remove 1.3:80', 'add sorry 9.9:80 w1'],
    ['rs-up 1.2:80', 'quorum-up 2/2', 'remove sorry 9.9:80', 'add 1.2:80 w1', 'add 1.3:80 w1'],
  ]);
});

test('hysteresis: lose below quorum − hysteresis (or at 0), gain at quorum + hysteresis (spec §7.2)', () => {
  const { phases, state } = play({ quorum: 2, hysteresis: 1, realServers: [rs(A), rs(B), rs(C), rs(D)] }, [
    [A, 'tcp', false], // 3
    [B, 'tcp', false], // 2
    [C, 'tcp', false], // 1: not < 2 − 1, still up
    [D, 'tcp', false], // 0: lost
    [A, 'tcp', true], // 1 < 2 + 1
    [B, 'tcp', true], // 2 < 3
    [C, 'tcp', true], // 3 >= 3: gained
  ]);
  const quorum = phases.map((p) => p.filter((x) => x.startsWith('quorum')));
  assert.deepEqual(quorum, [[], [], [], [], ['quorum-down 0/1'], [], [], ['quorum-up 3/3']]);
  assert.equal(state.snapshot().quorumUp, true);
});

test('starting with quorum down adds the sorry server at once (alpha, spec §7.2)', () => {
  const { phases } = play({ alpha: true, sorryServer: SORRY, realServers: [rs(A), rs(B, { inhibitOnFailure: true })] }, [[A, 'tcp', true]]);
  assert.deepEqual(phases, [
    ['quorum-down 0/1 (init)', 'add 1.2:80 w0', 'add sorry 9.9:80 w1'],
    ['rs-up 1.1:80', 'quorum-up 1/1', 'remove sorry 9.9:80', 'add 1.1:80 w1'],
  ]);
});

test('sorry_server_inhibit: sorry server sits at weight 0 and only gets weight while quorum is lost (spec §7.2)', () => {
  const { phases } = play({ sorryServer: SORRY, sorryServerInhibit: true, realServers: [rs(A)] }, [[A, 'tcp', false], [A, 'tcp', true]]);
  assert.deepEqual(phases, [
    ['add 1.1:80 w1', 'add sorry 9.9:80 w0'],
    ['rs-down 1.1:80', 'quorum-down 0/1', 'remove 1.1:80', 'set-weight sorry 9.9:80 w1'],
    ['rs-up 1.1:80', 'quorum-up 1/1', 'set-weight sorry 9.9:80 w0', 'add 1.1:80 w1'],
  ]);
});

test('while quorum is down with a sorry server, server changes are tracked but not pushed (spec §7.2)', () => {
  const { phases } = play({ quorum: 3, sorryServer: SORRY, realServers: [rs(A), rs(B), rs(C, { inhibitOnFailure: true })] }, [
    [A, 'tcp', false], // 2 < 3: lost; C (inhibit, alive) drops to weight 0
    [B, 'tcp', false], // nothing to push
    [B, 'tcp', true], // 2 < 3: still lost, B stays out
    [A, 'tcp', true], // 3: gained
  ]);
  assert.deepEqual(phases, [
    ['add 1.1:80 w1', 'add 1.2:80 w1', 'add 1.3:80 w1'],
    ['rs-down 1.1:80', 'quorum-down 2/3', 'remove 1.1:80', 'remove 1.2:80', 'set-weight 1.3:80 w0', 'add sorry 9.9:80 w1'],
    ['rs-down 1.2:80'],
    ['rs-up 1.2:80'],
    ['rs-up 1.1:80', 'quorum-up 3/3', 'remove sorry 9.9:80', 'set-weight 1.3:80 w1', 'add 1.1:80 w1', 'add 1.2:80 w1'],
  ]);
});

test('without a sorry server quorum only drives the quorum notices', () => {
  const { phases } = play({ realServers: [rs(A)] }, [[A, 'tcp', false], [A, 'tcp', true]]);
  assert.deepEqual(phases, [['add 1.1:80 w1'], ['rs-down 1.1:80', 'quorum-down 0/1', 'remove 1.1:80'], ['rs-up 1.1:80', 'quorum-up 1/1', 'add 1.1:80 w1']]);
});

test('dynamic weights (misc_dynamic) edit live servers, wait for dead ones and move quorum (spec §7.2)', () => {
  const { phases } = play({ quorum: 3, realServers: [rs(A, { weight: 2 }), rs(B, { inhibitOnFailure: true, weight: 2 })] }, [
    ['weight', A, 4],
    [B, 'tcp', false],
    ['weight', B, 7], // dead inhibit server stays at 0
    [B, 'tcp', true],
    ['weight', A, 0], // weight_sum 7
    ['weight', B, 0], // weight_sum 0: quorum lost
  ]);
  assert.deepEqual(phases, [
    ['add 1.1:80 w2', 'add 1.2:80 w2'],
    ['set-weight 1.1:80 w4'],
    ['rs-down 1.2:80', 'set-weight 1.2:80 w0'],
    [],
    ['rs-up 1.2:80', 'set-weight 1.2:80 w7'],
    ['set-weight 1.1:80 w0'],
    ['quorum-down 0/3', 'set-weight 1.2:80 w0'],
  ]);
});

test('shutdown removes everything, inhibited servers too; notices only with omega (spec §7.1 omega)', () => {
  const spec = { sorryServer: SORRY, sorryServerInhibit: true, realServers: [rs(A), rs(B, { inhibitOnFailure: true })] };
  const plain = play(spec, [[B, 'tcp', false], ['shutdown']]);
  assert.deepEqual(plain.phases[2], ['remove 1.1:80', 'remove 1.2:80', 'remove sorry 9.9:80']);
  const omega = play({ ...spec, omega: true }, [[B, 'tcp', false], ['shutdown']]);
  assert.deepEqual(omega.phases[2], ['remove 1.1:80', 'remove 1.2:80', 'remove sorry 9.9:80', 'rs-down 1.1:80 (stopping)', 'quorum-down 1/1 (stopping)']);
  assert.deepEqual(omega.state.desired(), []);
});

test('quorum is capped to the weight sum and hysteresis forced below quorum (spec §7.1)', () => {
  const s = new RealServerState({ service: SERVICE, quorum: 10, hysteresis: 5, realServers: [rs(A), rs(B, { weight: 2 })] }, { onChange: () => {} });
  assert.deepEqual([s.quorum, s.hysteresis], [3, 2]);
});

test('applyTransition sets the dynamic weight before the state; snapshot reflects it', () => {
  const changes: string[] = [];
  const s = new RealServerState({ service: SERVICE, alpha: true, realServers: [rs(A, { checkers: ['misc'] })] }, {
    onChange: (c) => changes.push(c.kind === 'remove' ? `remove ${name(c.dest)}` : `${c.kind} ${name(c.dest)} w${c.weight}`),
  });
  s.start();
  s.applyTransition(A, 'misc', { up: true, weight: 6 });
  assert.deepEqual(changes, ['add 1.1:80 w6']);
  const snap = s.snapshot();
  assert.deepEqual({ quorumUp: snap.quorumUp, weightSum: snap.weightSum, sorryActive: snap.sorryActive }, { quorumUp: true, weightSum: 6, sorryActive: false });
  assert.deepEqual(snap.realServers.map((r) => [name(r.dest), r.alive, r.weight, r.failedCheckers]), [['1.1:80', true, 6, []]]);
});

test('bad input is rejected with the server named', () => {
  const hooks = { onChange: () => {} };
  assert.throws(() => new RealServerState({ service: SERVICE, realServers: [rs(A), rs(A)] }, hooks), /Cannot add real server 198\.18\.1\.1:80 as it is listed twice/);
  assert.throws(() => new RealServerState({ service: SERVICE, realServers: [rs(A, { weight: -1 })] }, hooks), /weight must be an integer >= 0: current value is -1/);
  assert.throws(() => new RealServerState({ service: SERVICE, quorum: 0, realServers: [rs(A)] }, hooks), /quorum as it must be an integer >= 1/);
  assert.throws(() => new RealServerState({ service: SERVICE, sorryServer: A, realServers: [rs(A)] }, hooks), /also a real server/);
  const s = new RealServerState({ service: SERVICE, realServers: [rs(A)] }, hooks);
  s.start();
  assert.throws(() => s.setCheckerState(B, 'tcp', true), /Cannot update real server 198\.18\.1\.2:80 as it is not in the virtual service/);
  assert.throws(() => s.setCheckerState(A, 'nope', true), /no such checker/);
});
