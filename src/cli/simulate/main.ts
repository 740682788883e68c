// `tsvs simulate`: preview how rules distribute traffic, and how a change would move it, before
// touching anything. Reads an `ipvsadm -S -n` rules file, replays events (or random flows) through
// the engine on a virtual clock, and prints where each connection went.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatEndpoint, ipv4FromU32, type Endpoint, type IpAddress } from '../../core/net/addr.js';
import { SeededRandom } from '../../core/random.js';
import { isPrime } from '../../core/sched/mh.js';
import type { Protocol } from '../../core/service/types.js';
import { parseRulesText, ruleArgvToOps } from './rules.js';
import { InputError, parseEvents, type SimEvent } from './events.js';
import { Simulation, type OpenResult } from './simulator.js';
import { diffResults, formatDiff, formatSummary, summarize } from './report.js';

const USAGE = `Usage: tsvs simulate --rules RULES [--events EVENTS] [--diff NEWRULES] [--summary] [--json]
                     [--flows N] [--seed N] [--mh-table-size M]

  --rules FILE        rules in 'ipvsadm -S -n' format (-A/-a lines; # comments)
  --events FILE       events, one per line:
                        <t> open  <tcp|udp|sctp> <client_ip>:<port> <vip>:<port> [fwmark=N]
                        <t> close <tcp|udp|sctp> <client_ip>:<port> <vip>:<port> [fwmark=N]
                        <t> rule  <ipvsadm command, e.g. -e -t 10.0.0.1:80 -r 10.0.1.1:80 -w 0>
                      without it, --flows random client flows are opened to every service at t=0
  --diff FILE         replay the same flows against these rules and report which flows move
  --summary           per service and real server: connections and share (instead of one line per open)
  --json              machine-readable output
  --flows N           random flows per service when there is no --events (default 10000)
  --seed N            seed for random flows and random schedulers (default 1)
  --mh-table-size M   Maglev table size, a prime (default 4093)
`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rules: { type: 'string' }, events: { type: 'string' }, diff: { type: 'string' },
        summary: { type: 'boolean' }, json: { type: 'boolean' }, flows: { type: 'string' },
        seed: { type: 'string' }, 'mh-table-size': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true, allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`tsvs simulate: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) { process.stdout.write(USAGE); return 0; }
  if (!values.rules) { process.stderr.write(`tsvs simulate: --rules is required\n\n${USAGE}`); return 2; }
  const flows = intOption('--flows', values.flows, 10000, 1, 10_000_000);
  const seed = intOption('--seed', values.seed, 1, 0, 0xffffffff);
  const mhTableSize = intOption('--mh-table-size', values['mh-table-size'], 4093, 2, 1_000_003);
  if (typeof flows === 'string' || typeof seed === 'string' || typeof mhTableSize === 'string') {
    process.stderr.write(`tsvs simulate: ${[flows, seed, mhTableSize].find((x) => typeof x === 'string')}\n`);
    return 2;
  }
  if (!isPrime(mhTableSize)) { process.stderr.write(`tsvs simulate: --mh-table-size must be a prime: got ${mhTableSize}\n`); return 2; }

  try {
    const rulesA = parseRulesText(readText(values.rules), values.rules);
    const rulesB = values.diff ? parseRulesText(readText(values.diff), values.diff) : undefined;
    const eventsFile = values.events;
    const events = eventsFile ? parseEvents(readText(eventsFile), eventsFile) : undefined;
    const opts = { mhTableSize, seed };
    const simA = new Simulation(opts);
    simA.applyRules(rulesA);
    const evs = events ?? randomFlows(simA, flows, seed);
    const applyRule = (file: string) => (argv: string[], line: number) => ruleArgvToOps(argv, file, line);
    const resA = simA.run(evs, eventsFile ?? '(generated)', applyRule(eventsFile ?? '(generated)'));
    let resB: OpenResult[] | undefined;
    if (rulesB) {
      const simB = new Simulation(opts);
      simB.applyRules(rulesB);
      resB = simB.run(evs, eventsFile ?? '(generated)', applyRule(eventsFile ?? '(generated)'));
    }
    process.stdout.write(render(simA, resA, resB, { summary: !!values.summary, json: !!values.json }));
    return 0;
  } catch (e) {
    if (e instanceof InputError) { process.stderr.write(`tsvs simulate: ${e.message}\n`); return 2; }
    throw e;
  }
}

function render(sim: Simulation, a: OpenResult[], b: OpenResult[] | undefined, o: { summary: boolean; json: boolean }): string {
  const summary = o.summary ? summarize(sim.director.table, a) : undefined;
  const diff = b ? diffResults(a, b) : undefined;
  if (o.json) {
    const opens = o.summary ? undefined : a.map(openJson);
    return JSON.stringify({ opens, summary, diff: diff && { flows: diff.flows, moved: diff.moved.length, movedShare: diff.movedShare, movedFlows: o.summary ? undefined : diff.moved } }, null, 1) + '\n';
  }
  let text = '';
  if (!o.summary && !diff) text += a.map((r) => r.dest + '\n').join('');
  if (summary) text += formatSummary(summary);
  if (diff) text += formatDiff(diff, !o.summary);
  return text;
}

function openJson(r: OpenResult) {
  return { line: r.line, t: r.t, protocol: r.protocol, client: formatEndpoint(r.client.addr, r.client.port), virtual: formatEndpoint(r.vip.addr, r.vip.port), fwmark: r.fwmark || undefined, service: r.service, dest: r.dest, why: r.why };
}

/** N random client flows per service, all at t=0, from the seed. */
function randomFlows(sim: Simulation, n: number, seed: number): SimEvent[] {
  const rng = new SeededRandom(seed ^ 0x5eed);
  const events: SimEvent[] = [];
  for (const svc of sim.director.table.services()) {
    const family = svc.family;
    const protocol: Protocol = svc.key.kind === 'addr' ? svc.key.protocol : 'tcp';
    const vip: Endpoint = svc.key.kind === 'addr'
      ? { addr: svc.key.addr, port: svc.key.port === 0 ? 1 + (rng.nextU32() % 65535) : svc.key.port }
      : { addr: family === 4 ? ipv4FromU32(0x0a000001) : randomV6(rng), port: 80 };
    const fwmark = svc.key.kind === 'fwmark' ? svc.key.fwmark : 0;
    for (let i = 0; i < n; i++) {
      const addr = family === 4 ? ipv4FromU32(0x01000000 + (rng.nextU32() % 0xde000000)) : randomV6(rng);
      const client = { addr, port: 1024 + (rng.nextU32() % 64512) };
      events.push({ kind: 'open', line: 0, t: 0, protocol, client, vip, fwmark });
    }
  }
  return events;
}

function randomV6(rng: SeededRandom): IpAddress {
  const bytes = new Uint8Array(16);
  bytes.set([0x20, 0x01, 0x0d, 0xb8]);
  for (let i = 4; i < 16; i += 4) new DataView(bytes.buffer).setUint32(i, rng.nextU32());
  return { family: 6, bytes };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(file, 0, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function intOption(name: string, v: string | undefined, def: number, min: number, max: number): number | string {
  if (v === undefined) return def;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) return `${name} must be an integer ${min}..${max}: got '${v}'`;
  return Number(v);
}
