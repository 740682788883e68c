// `tsvs import keepalived FILE` and `tsvs import ipvsadm FILE`: convert an existing setup to
// tsvs.yaml (on stdout). Everything that cannot be mapped is reported on stderr with its line.
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ManualClock } from '../../core/clock.js';
import { SeededRandom } from '../../core/random.js';
import { registerBuiltinSchedulers } from '../../core/sched/builtin.js';
import { SchedulerRegistry } from '../../core/sched/scheduler.js';
import { configJson } from '../../control/api/views.js';
import { loadConfigText } from '../../control/config/load.js';
import { importKeepalivedFile } from '../../control/config/keepalived/convert.js';
import { Director } from '../../control/director.js';
import { InputError } from '../simulate/events.js';
import { parseRulesText } from '../simulate/rules.js';

const USAGE = `Usage: tsvs import keepalived FILE     keepalived.conf (virtual_server, real_server, checkers) -> tsvs.yaml
       tsvs import ipvsadm FILE        'ipvsadm -S -n' output -> tsvs.yaml
The YAML goes to stdout; what could not be converted is listed on stderr with line numbers.
`;

export async function main(argv: string[]): Promise<number> {
  const [kind, file, ...rest] = argv;
  if (kind === '-h' || kind === '--help') { process.stdout.write(USAGE); return 0; }
  if (!kind || !file || rest.length > 0 || (kind !== 'keepalived' && kind !== 'ipvsadm')) {
    process.stderr.write(`tsvs import: expected 'keepalived FILE' or 'ipvsadm FILE'\n\n${USAGE}`);
    return 2;
  }
  try {
    if (kind === 'keepalived') {
      const r = importKeepalivedFile(file);
      process.stdout.write(r.yaml);
      for (const m of r.messages) process.stderr.write(`${file}: ${m}\n`);
      return 0;
    }
    process.stdout.write(ipvsadmToYaml(readFileSync(file, 'utf8'), file));
    return 0;
  } catch (e) {
    if (e instanceof InputError) { process.stderr.write(`tsvs import: ${e.message}\n`); return 2; }
    const err = e as NodeJS.ErrnoException & { line?: number };
    if (err.code === 'ENOENT' || err.code === 'EACCES') { process.stderr.write(`tsvs import: ${file}: cannot read: ${err.code}\n`); return 2; }
    process.stderr.write(`tsvs import: ${err.message}\n`);
    return 2;
  }
}

/** Rules in `ipvsadm -S -n` form as a tsvs.yaml document (checked by loading it back). */
export function ipvsadmToYaml(text: string, file: string): string {
  const registry = new SchedulerRegistry();
  registerBuiltinSchedulers(registry);
  const clock = new ManualClock(0);
  const director = new Director({ registry, env: { clock, random: new SeededRandom(1), mhTableSize: 4093, lblcExpirationS: 86400, lblcrExpirationS: 86400 } });
  for (const r of parseRulesText(text, file)) {
    const res = director.applyOps(r.ops, { source: `${file}:${r.line}` });
    if (!res.ok) throw new InputError(file, r.line, res.error?.message ?? 'rule rejected');
  }
  const yaml = `# Converted by 'tsvs import ipvsadm ${file}'\n` + stringify(configJson(director.table.services()));
  loadConfigText(yaml, `${file} (converted)`);
  return yaml;
}
