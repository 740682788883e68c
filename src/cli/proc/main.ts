// `tsvs proc ip_vs|ip_vs_stats|ip_vs_conn|ip_vs_conn_sync`: the kernel's /proc/net views of the
// running daemon, byte for byte in the kernel's formats.
import { resolveControlSocket, sendControlRequest } from '../../control/control-socket.js';
import { isOneOf } from '../../control/config/schema-values.js';
import { PROC_VIEWS } from './view.js';

export async function main(argv: string[]): Promise<number> {
  if (argv.length !== 1 || !isOneOf(PROC_VIEWS, argv[0])) {
    process.stderr.write(`Usage: tsvs proc ${PROC_VIEWS.join('|')}\n`);
    return argv[0] === '-h' || argv[0] === '--help' ? 0 : 2;
  }
  try {
    const r = await sendControlRequest(resolveControlSocket(), { tool: 'proc', argv });
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r.exitCode;
  } catch (e) {
    process.stderr.write(`tsvs proc: ${(e as Error).message}\n`);
    return 1;
  }
}
