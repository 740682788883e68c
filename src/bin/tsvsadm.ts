#!/usr/bin/env node
// tsvsadm: ipvsadm for tsvs. Same syntax, same output, same exit codes; it talks to the running
// tsvs daemon over its control socket (TSVS_SOCKET, default /run/tsvs/tsvs.sock). Usage errors,
// -h and -v are answered locally, so they work without a daemon, exactly as ipvsadm's do.
import { readFileSync } from 'node:fs';
import { parseArgs, usageErrorText, formatUsage, formatVersion } from '../cli/ipvsadm/index.js';
import { EtcResolver } from '../cli/tsvsadm/etc-resolver.js';
import { resolveControlSocket, sendControlRequest } from '../control/control-socket.js';

async function main(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, { resolver: new EtcResolver() });
  if (!parsed.ok) { process.stderr.write(usageErrorText(parsed.error, 'tsvsadm')); return parsed.error.exitCode; }
  if (parsed.command.kind === 'help') { process.stdout.write(formatUsage({ program: 'tsvsadm' })); return 0; }
  if (parsed.command.kind === 'version') { process.stdout.write(formatVersion()); return 0; }
  const stdin = parsed.command.kind === 'restore' ? readFileSync(0, 'utf8') : undefined;
  const path = resolveControlSocket();
  try {
    const r = await sendControlRequest(path, { argv, stdin });
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r.exitCode;
  } catch (e) {
    process.stderr.write(`tsvsadm: ${(e as Error).message}\n`);
    return 255;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
