// A bad --offload mode is refused before anything starts, by each command that takes one
// (exit 2, the option and the value named).
import { test } from 'node:test';
import assert from 'node:assert/strict';
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

test('tsvs lab up dr --offload ebpf is refused before any namespace is made', { skip: process.getuid?.() !== 0 && 'lab up checks root first' }, async () => {
  const r = await stderrOf(() => labMain(['up', 'dr', '--offload', 'ebpf', '--dir', '/nonexistent/tsvs-lab']));
  assert.equal(r.code, 2);
  assert.match(r.err, /--offload must be one of none, xdp, xdp-native: got 'ebpf'/);
});
