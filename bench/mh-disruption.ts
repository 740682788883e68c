// Maglev disruption measured with `tsvs simulate --diff` (the user-facing tool): remove one of N
// real servers and count the flows that move. Ideal is 1/N (the removed server's flows); Maglev
// moves a little more, and that excess should fall as M grows well past 100 × N.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CLI = fileURLToPath(new URL('../src/bin/tsvs.js', import.meta.url));
const FLOWS = 200_000;

function rules(n: number, skip = -1): string {
  let s = '-A -t 192.0.2.10:80 -s mh\n';
  for (let i = 0; i < n; i++) if (i !== skip) s += `-a -t 192.0.2.10:80 -r 10.${(i >> 8) & 255}.${i & 255}.1:80 -g -w 1\n`;
  return s;
}

export async function runMhDisruption(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-mh-'));
  let md = `### mh: flows moved when one of N real servers is removed (\`tsvs simulate --diff\`, ${FLOWS} random flows)\n\n`;
  md += '| N | M | moved | ideal 1/N | excess (moved − 1/N) |\n|--:|--:|--:|--:|--:|\n';
  try {
    for (const n of [10, 100]) {
      for (const m of [4093, 65521]) {
        const a = join(dir, `a-${n}.txt`);
        const b = join(dir, `b-${n}.txt`);
        writeFileSync(a, rules(n));
        writeFileSync(b, rules(n, Math.floor(n / 2)));
        const r = spawnSync(process.execPath, [CLI, 'simulate', '--rules', a, '--diff', b, '--summary', '--json', '--flows', String(FLOWS), '--mh-table-size', String(m)], { encoding: 'utf8', maxBuffer: 1 << 28 });
        if (r.status !== 0) throw new Error(`simulate failed: ${r.stderr}`);
        const share = JSON.parse(r.stdout).diff.movedShare as number;
        md += `| ${n} | ${m} | ${(share * 100).toFixed(2)}% | ${(100 / n).toFixed(2)}% | ${((share - 1 / n) * 100).toFixed(2)} pts |\n`;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return md;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runMhDisruption().then((s) => process.stdout.write(s));
}
