// Root test of `tsvs lab up dr --servers 2` / `tsvs lab down`: every namespace and process the lab
// records exists while it is up (and its real servers serve HTTP and DNS), and nothing of it is
// left after down, checked by listing namespaces and processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { processStartTime } from '../../src/control/sysnet/process.js';
import { inNs, labTestLock, must, run, SKIP_NOT_ROOT, tsvs } from './helpers.js';

const STATE = '/run/tsvs/lab/state.json';
const NAMES = ['tsvs-lab-client', 'tsvs-lab-router', 'tsvs-lab-director', 'tsvs-lab-rs1', 'tsvs-lab-rs2'];

async function labNamespaces(): Promise<string[]> {
  return (JSON.parse((await must(['ip', '-j', 'netns', 'list'])) || '[]') as { name: string }[]).map((n) => n.name).filter((n) => n.startsWith('tsvs-lab-')).sort();
}

async function skipReason(): Promise<string | false> {
  if (SKIP_NOT_ROOT) return SKIP_NOT_ROOT;
  if (existsSync(STATE) || (await labNamespaces()).length) return 'a tsvs lab is already up on this machine: not touching it (run tsvs lab down first)';
  return false;
}

test('tsvs lab up dr --servers 2 builds client, router, director and two serving real servers; down removes exactly that', { timeout: 450_000 }, async (t) => {
  if (SKIP_NOT_ROOT) { t.skip(SKIP_NOT_ROOT); return; }
  const release = await labTestLock();
  const skip = await skipReason();
  if (skip) { release(); t.skip(skip); return; }
  let pids: { pid: number; startTime: string; name: string }[] = [];
  try {
    const up = await tsvs(['lab', 'up', 'dr', '--servers', '2'], 120_000);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match(up.stdout, /curl -s http:\/\/198\.18\.1\.100\//, 'prints how to try it');
    assert.deepEqual(await labNamespaces(), [...NAMES].sort());

    const st = JSON.parse(readFileSync(STATE, 'utf8')) as { processes: { pid: number; startTime: string; name: string }[]; director: { started: boolean } };
    pids = st.processes;
    const servers = pids.filter((p) => p.name.startsWith('rs'));
    assert.equal(servers.length, 4, 'an HTTP server and dnsmasq per real server');
    for (const p of servers) assert.equal(processStartTime(p.pid), p.startTime, `${p.name} runs`);

    for (const [i, ip] of [[1, '198.18.1.11'], [2, '198.18.1.12']] as const) {
      // From the client, through the router: the page names the server, DNS answers with its name.
      assert.equal(await inNs('tsvs-lab-client', ['curl', '-sf', '-m', '5', `http://${ip}/`]), `tsvs lab real server rs${i} (${ip})\n`);
      assert.equal((await inNs('tsvs-lab-client', ['dig', '+short', '+time=2', '+tries=2', `@${ip}`, 'server.lab.tsvs', 'TXT'])).trim(), `"rs${i}"`);
      // DR real server prepared by tsvs realserver up: VIP on lo, ARP suppressed.
      assert.match(await inNs(`tsvs-lab-rs${i}`, ['ip', '-o', 'addr', 'show', 'dev', 'lo']), /198\.18\.1\.100\/32/);
      assert.equal((await inNs(`tsvs-lab-rs${i}`, ['sysctl', '-n', 'net.ipv4.conf.eth0.arp_ignore'])).trim(), '1');
    }
    const size = await inNs('tsvs-lab-client', ['curl', '-sf', '-m', '60', '-o', '/dev/null', '-w', '%{size_download}', 'http://198.18.1.11/big.bin'], 70_000);
    assert.equal(size, String(100 * 1024 * 1024));
    // The director (tsvs run --dataplane packet) forwards the VIP: rr answers from both real servers.
    assert.equal(st.director.started, true, 'the director runs');
    const pages = new Set<string>();
    for (let i = 0; i < 2; i++) pages.add(await inNs('tsvs-lab-client', ['curl', '-sf', '-m', '5', 'http://198.18.1.100/']));
    assert.deepEqual([...pages].sort(), ['tsvs lab real server rs1 (198.18.1.11)\n', 'tsvs lab real server rs2 (198.18.1.12)\n']);

    const status = await tsvs(['lab', 'status']);
    assert.equal(status.code, 0, status.stdout);

    const down = await tsvs(['lab', 'down'], 60_000);
    assert.equal(down.code, 0, down.stderr + down.stdout);
    assert.deepEqual(await labNamespaces(), []);
    for (const p of pids) assert.equal(processStartTime(p.pid), undefined, `${p.name} (pid ${p.pid}) is gone`);
    assert.equal(existsSync('/run/tsvs/lab'), false, 'the lab directory is removed');
    const again = await tsvs(['lab', 'status']);
    assert.match(again.stdout, /no lab is up/);
  } finally {
    if (existsSync(STATE)) await tsvs(['lab', 'down'], 60_000);
    // Anything left despite down was created by this test (it skips when a lab existed before).
    for (const n of await labNamespaces()) await run(['ip', 'netns', 'del', n]);
    for (const p of pids) if (processStartTime(p.pid) === p.startTime) process.kill(p.pid, 'SIGKILL');
    release();
  }
});
