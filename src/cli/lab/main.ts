// `tsvs lab up nat|dr|tun|fullnat [--servers N] [--tun-type ipip|gue]`, `tsvs lab down`,
// `tsvs lab status`: a forwarding mode's whole topology in network namespaces on this machine.

import { OFFLOAD_MODES, isOffloadMode } from '../../control/config/schema.js';
import { parseArgs } from 'node:util';
import { LAB_DIR, labDown, labStatus, labUp } from './lab.js';
import { LAB } from './topology.js';
import type { LabMode } from './topology.js';

const USAGE = `Usage:
  tsvs lab up nat|dr|tun|fullnat [--servers N] [--tun-type ipip|gue] [--tun-port P] [--offload xdp|xdp-native|tc]
                 [--workers N]
  tsvs lab down
  tsvs lab status

Builds, in network namespaces (root), a client (tsvs-lab-client 198.18.0.2), a router
(tsvs-lab-router 198.18.0.1 / 198.18.1.1, bridging the server LAN), a director
(tsvs-lab-director 198.18.1.2, running 'tsvs run --dataplane packet') and N real servers
(tsvs-lab-rs1.. 198.18.1.11..) with HTTP (:80) and DNS (:53); VIP ${LAB.vip} TCP 80 and UDP 53.
DR/TUN real servers are prepared with 'tsvs realserver up'. Everything created is recorded in
${LAB_DIR}/state.json; 'down' removes exactly that.
  --servers N     real servers, 1-20 (default 2)
  --tun-type T    tun mode: ipip (default) or gue
  --tun-port P    GUE UDP port (default ${LAB.gueDefaultPort})
  --offload M     the director's kernel fast path for established DR flows: xdp, xdp-native or tc
  --workers N     the director's forwarding workers, 1-16 (default 1; more than 1: no --offload)
`;

/** Entry point of `tsvs lab`. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  let v;
  try {
    v = parseArgs({
      args: rest, strict: true, allowPositionals: true,
      options: { servers: { type: 'string' }, 'tun-type': { type: 'string' }, 'tun-port': { type: 'string' }, offload: { type: 'string' }, workers: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    process.stderr.write(`tsvs lab: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const o = v.values;
  if (sub === undefined || sub === 'help' || sub === '-h' || sub === '--help' || o.help) {
    process.stdout.write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  const usage = (msg: string): number => { process.stderr.write(`tsvs lab: ${msg}\n\n${USAGE}`); return 2; };
  const dir = o.dir ?? LAB_DIR;
  const say = (l: string): void => { process.stdout.write(`${l}\n`); };
  // Bad arguments are refused before privileges are asked for.
  const notRoot = (): boolean => {
    if (process.getuid?.() === 0) return false;
    process.stderr.write(`tsvs lab ${sub}: needs root (network namespaces, veth, bridges)\n`);
    return true;
  };
  try {
    switch (sub) {
      case 'up': {
        const mode = v.positionals[0];
        if (v.positionals.length !== 1 || !['nat', 'dr', 'tun', 'fullnat'].includes(mode!)) return usage('up needs exactly one mode: nat, dr, tun or fullnat');
        const servers = o.servers === undefined ? 2 : Number(o.servers);
        if (!Number.isInteger(servers) || servers < 1 || servers > 20) return usage(`--servers must be 1-20: got '${o.servers}'`);
        const tunType = o['tun-type'] ?? 'ipip';
        if (tunType !== 'ipip' && tunType !== 'gue') return usage(`--tun-type must be ipip or gue: got '${tunType}'`);
        const tunPort = o['tun-port'] === undefined ? LAB.gueDefaultPort : Number(o['tun-port']);
        if (!Number.isInteger(tunPort) || tunPort < 1 || tunPort > 65535) return usage(`--tun-port must be 1-65535: got '${o['tun-port']}'`);
        const offload = o.offload ?? 'none';
        if (!isOffloadMode(offload)) return usage(`--offload must be one of ${OFFLOAD_MODES.join(', ')}: got '${offload}'`);
        const workers = o.workers === undefined ? 1 : Number(o.workers);
        if (!Number.isInteger(workers) || workers < 1 || workers > 16) return usage(`--workers must be 1-16: got '${o.workers}'`);
        if (workers > 1 && offload !== 'none') return usage(`--workers ${workers} cannot go with --offload ${offload}: the kernel fast path belongs to one worker`);
        if (notRoot()) return 1;
        await labUp({ mode: mode as LabMode, servers, tunType, tunPort, dir, offload, workers }, say);
        return 0;
      }
      case 'down':
        if (v.positionals.length) return usage('down takes no arguments');
        if (notRoot()) return 1;
        return (await labDown(dir, say)) === 0 ? 0 : 1;
      case 'status': {
        const s = await labStatus(dir);
        process.stdout.write(s.text);
        return s.healthy ? 0 : 1;
      }
      default:
        return usage(`unknown subcommand '${sub}'`);
    }
  } catch (e) {
    process.stderr.write(`tsvs lab ${sub}: ${(e as Error).message}\n`);
    return 1;
  }
}
