// `npm run bench`: every in-process benchmark of tsvs in one run, then (as root on Linux) the packet
// plane against kernel forwarding and nftables DNAT on network namespaces, printed as markdown (and
// saved to bench/out/latest.md). The proxy peer benchmark is a separate script (see bench/README.md).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runSchedBench } from './sched.js';
import { runConnBench } from './conn.js';
import { runEngineBench } from './engine.js';
import { runProxyEngineBench } from './proxy-engine.js';
import { runMhDisruption } from './mh-disruption.js';

/**
 * bench/packet-bench.sh in both topologies, three rounds each (about 12 minutes): veth receive on the sender's CPU, and
 * every row's receiving veth with threaded NAPI on the director's CPU (THREADED=1). Needs root.
 */
async function runPacketBench(): Promise<string> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return '### Packet plane\n\nskipped: needs root on Linux (network namespaces, AF_PACKET, XDP)\n';
  const repeat = process.env.REPEAT ?? '3';
  let md = `### Packet plane (REPEAT=${repeat} bench/packet-bench.sh 4 "64 1358")\n`;
  for (const threaded of ['0', '1']) {
    const r = spawnSync('bash', ['bench/packet-bench.sh', '4', '64 1358'], {
      cwd: root, encoding: 'utf8', env: { ...process.env, DIST: 'dist', REPEAT: repeat, MODES: process.env.MODES ?? 'dr dr-xdp dr-tc nat tun fullnat', THREADED: threaded },
    });
    md += `\nTHREADED=${threaded}${r.status === 0 ? '' : ` (exit ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')})`}\n\n\`\`\`\n${r.stdout.trim()}\n\`\`\`\n`;
  }
  return md;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const parts: Array<[string, () => Promise<string>]> = [
    ['sched', runSchedBench], ['mh', runMhDisruption], ['conn', runConnBench], ['engine', runEngineBench], ['proxy-engine', runProxyEngineBench], ['packet', runPacketBench],
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
