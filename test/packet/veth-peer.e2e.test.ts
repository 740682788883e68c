// Which veths may take the fast path's frames into their peer (ADR 0005, "Delivery to a veth peer"):
// gatherNetFacts run inside a namespace (root; tsvs-vpeer-*, removed at the end even on failure)
// asks the kernel for the peer's MAC over rtnetlink, and leaves it out when the veth has its own
// egress processing (a clsact qdisc for tc egress filters, or a shaping qdisc).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fixture, nsRun, packetSkipReason, sh } from './helpers.js';
import { tcxUnavailable } from '../../src/dataplane/packet/xdp/fast-path.js';

const A = 'tsvs-vpeer-a', B = 'tsvs-vpeer-b';
const PEER_MAC = '02:00:00:00:0b:01';
const skip = packetSkipReason();
const netContext = fileURLToPath(new URL('../../src/dataplane/packet/net-context.js', import.meta.url));
// Prints, per interface: name, the peer reference, the peer's MAC (or -).
const PROBE = `import(${JSON.stringify(netContext)}).then(async (m) => {
  for (const i of (await m.gatherNetFacts({ vethPeers: process.argv[1] === 'peers' })).interfaces) {
    const mac = i.peerMac ? Array.from(i.peerMac, (b) => b.toString(16).padStart(2, '0')).join(':') : '-';
    console.log(i.name, i.vethPeer ? i.vethPeer.ifIndex : '-', mac);
  }
});`;

function down(): void {
  for (const n of [A, B]) sh(`ip netns del ${n} 2>/dev/null || true`);
}

async function probe(vethPeers = true): Promise<Record<string, string[]>> {
  const r = await nsRun(A, [process.execPath, '--input-type=module', '-e', PROBE, vethPeers ? 'peers' : 'no-peers']);
  assert.equal(r.code, 0, r.stderr);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ')).map(([n, ...rest]) => [n, rest]));
}

before(() => {
  if (skip) return;
  down();
  sh([
    `ip netns add ${A}`, `ip netns add ${B}`,
    `ip link add va netns ${A} type veth peer name vb netns ${B} address ${PEER_MAC}`,
    `ip link add vs netns ${A} type veth peer name vt netns ${A}`, // both ends here: no other namespace
    `ip -n ${A} link set va up`, `ip -n ${B} link set vb up`, `ip -n ${A} link set vs up`, `ip -n ${A} link set vt up`,
  ].join(' && '));
});
after(() => { if (!skip) down(); });

test('a veth with its peer in another namespace and a plain egress gets the peer\'s MAC; a veth within one namespace does not', { skip }, async () => {
  const peerIndex = sh(`ip netns exec ${B} cat /sys/class/net/vb/ifindex`).trim();
  const p = await probe();
  assert.deepEqual(p.va, [peerIndex, PEER_MAC]);
  assert.deepEqual((await probe(false)).va, [peerIndex, '-'], 'not asked for (no tc fast path): no probe');
  assert.deepEqual(p.vs, ['-', '-']);
  assert.deepEqual(p.lo, ['-', '-']);
});

test('a clsact qdisc (tc egress filters) or a shaping qdisc on the veth: no peer MAC; removed again: back', { skip }, async () => {
  for (const q of ['clsact', 'root tbf rate 1gbit burst 64k latency 10ms']) {
    sh(`ip netns exec ${A} tc qdisc add dev va ${q}`);
    assert.deepEqual((await probe()).va[1], '-', q);
    sh(`ip netns exec ${A} tc qdisc del dev va ${q.startsWith('root') ? 'root' : 'clsact'}`);
    assert.deepEqual((await probe()).va[1], PEER_MAC, `${q} removed`);
  }
});

test('an nftables egress chain on the veth, the veth down, or a peer with a smaller MTU: no peer MAC', { skip }, async (t) => {
  const cases: Array<[string, string, string]> = [
    ['an nft egress chain', `ip netns exec ${A} nft 'add table netdev tsvs_vpeer; add chain netdev tsvs_vpeer out { type filter hook egress device "va" priority 0; }'`,
      `ip netns exec ${A} nft delete table netdev tsvs_vpeer`],
    ['an nft egress chain on two devices', `ip netns exec ${A} nft 'add table netdev tsvs_vpeer; add chain netdev tsvs_vpeer out { type filter hook egress devices = { va, vs } priority 0; }'`,
      `ip netns exec ${A} nft delete table netdev tsvs_vpeer`],
    ['va down', `ip -n ${A} link set va down`, `ip -n ${A} link set va up`],
    ['the peer\'s MTU below va\'s', `ip -n ${B} link set vb mtu 1400`, `ip -n ${B} link set vb mtu 1500`],
  ];
  for (const [what, on, off] of cases) {
    try {
      sh(on);
    } catch (e) {
      // netdev egress hooks need Linux 5.16 and nft 1.0.1: elsewhere there is nothing to bypass.
      if (what.startsWith('an nft')) { t.diagnostic(`${what}: not available here (${(e as Error).message.split('\n')[0]})`); continue; }
      throw e;
    }
    try {
      assert.deepEqual((await probe()).va[1], '-', what);
    } finally {
      sh(off);
    }
    assert.deepEqual((await probe()).va[1], PEER_MAC, `${what}: undone`);
  }
});

test('a tcx egress program on the veth: no peer MAC while it is attached', { skip: skip || tcxUnavailable() }, async () => {
  const ifIndex = sh(`ip netns exec ${A} cat /sys/class/net/va/ifindex`).trim();
  const holder = spawn('ip', ['netns', 'exec', A, process.execPath, fixture('tcx-egress-holder'), ifIndex], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const first = await new Promise<string>((resolve) => createInterface({ input: holder.stdout! }).once('line', resolve));
    assert.equal(first, 'ready');
    assert.deepEqual((await probe()).va[1], '-');
  } finally {
    if (holder.exitCode === null && holder.signalCode === null) {
      const gone = new Promise((r) => holder.once('exit', r));
      holder.stdin!.end();
      const t = setTimeout(() => { if (holder.pid && holder.exitCode === null) try { process.kill(holder.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
      await gone;
      clearTimeout(t);
    }
  }
  assert.deepEqual((await probe()).va[1], PEER_MAC, 'detached');
});
