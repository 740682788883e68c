// `npm run bench`: every in-process benchmark of tsvs in one run, printed as markdown (and saved
// to bench/out/latest.md). Peer and network benchmarks are separate scripts (see bench/README.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runSchedBench } from './sched.js';
import { runConnBench } from './conn.js';
import { runEngineBench } from './engine.js';
import { runMhDisruption } from './mh-disruption.js';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const parts: Array<[string, () => Promise<string>]> = [
    ['sched', runSchedBench], ['mh', runMhDisruption], ['conn', runConnBench], ['engine', runEngineBench],
  ];
  let md = `## tsvs in-process benchmarks\n\nmachine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; ${new Date().toISOString()}\n\n`;
  for (const [name, fn] of parts) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    const section = await fn();
    md += section + '\n';
    process.stdout.write(section + '\n');
  }
  const out = fileURLToPath(new URL('../../bench/out/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/latest.md`, md);
}

main().catch((e: unknown) => { process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`); process.exitCode = 1; });
