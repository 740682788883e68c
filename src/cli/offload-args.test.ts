// A bad --offload mode is refused before anything starts, by each command that takes one
// (exit 2, the option and the value named).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main as labMain } from './lab/main.js';
import { main as runMain } from './run/main.js';

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
  assert.match(r.err, /tsvs run: --offload must be one of none, xdp, xdp-native: got 'ebpf'/);
});

test('tsvs lab up dr --offload ebpf is refused before anything is made (and before the root check)', async () => {
  const dir = join(tmpdir(), `tsvs-lab-args-${process.pid}`);
  const r = await stderrOf(() => labMain(['up', 'dr', '--offload', 'ebpf', '--dir', dir]));
  assert.equal(r.code, 2);
  assert.match(r.err, /--offload must be one of none, xdp, xdp-native: got 'ebpf'/);
  assert.equal(existsSync(dir), false, 'no lab state written');
});
