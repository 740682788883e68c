// A bad --offload mode is refused before anything starts, by each command that takes one
// (exit 2, the option and the value named).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main as labMain } from './lab/main.js';
import { main as runMain } from './run/main.js';

const TSVS = fileURLToPath(new URL('../bin/tsvs.js', import.meta.url));

async function stderrOf(run: () => Promise<number>): Promise<{ code: number; err: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try {
    return { code: await run(), err };
  } finally {
    process.stderr.write = write;
  }
}

test('tsvs run --offload ebpf is refused', async () => {
  const r = await stderrOf(() => runMain(['--offload', 'ebpf']));
  assert.equal(r.code, 2);
  assert.match(r.err, /tsvs run: --offload must be one of none, xdp, xdp-native, tc: got 'ebpf'/);
});

test('tsvs lab up dr --offload ebpf is refused before anything is made', async () => {
  const dir = join(tmpdir(), `tsvs-lab-args-${process.pid}`);
  const r = await stderrOf(() => labMain(['up', 'dr', '--offload', 'ebpf', '--dir', dir]));
  assert.equal(r.code, 2);
  assert.match(r.err, /--offload must be one of none, xdp, xdp-native, tc: got 'ebpf'/);
  assert.equal(existsSync(dir), false, 'no lab state written');
});

test('tsvs lab names a bad --offload before it asks for root (run as an unprivileged user)', (t) => {
  // As root the root check passes anyway, so the order shows only for another user: nobody.
  const asUser: string[] = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  if (asUser.length > 0 && spawnSync('setpriv', ['--version']).status !== 0) { t.skip('setpriv is not installed (apt-get install util-linux)'); return; }
  const argv = [...asUser, process.execPath, TSVS, 'lab', 'up', 'dr'];
  const bad = spawnSync(argv[0], [...argv.slice(1), '--offload', 'ebpf'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--offload must be one of none, xdp, xdp-native, tc: got 'ebpf'/);
  // The same user with good arguments meets the root check: the order above is what made the difference.
  const good = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
  assert.notEqual(good.status, 2, good.stderr);
  assert.match(good.stderr, /root/);
});
