#!/usr/bin/env node
// Composition root of the `tsvs` command: picks the subcommand and hands over its arguments.
// Each subcommand lives in src/cli/<name>/ and exports main(argv) -> exit code.

interface Subcommand {
  readonly summary: string;
  readonly load: () => Promise<{ main(argv: string[]): Promise<number> }>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  run: { summary: 'run the daemon (config, data plane, health checks, tsvsadm socket, REST API, metrics)', load: () => import('../cli/run/main.js') },
  demo: { summary: 'proxy plane on loopback with demo real servers (what npm start runs)', load: () => import('../cli/demo/main.js') },
  lab: { summary: 'build a forwarding mode\'s topology (client, router, director, real servers) in network namespaces', load: () => import('../cli/lab/main.js') },
  realserver: { summary: 'configure this host as a real server for DR/TUN/NAT (ARP, rp_filter, VIP, decapsulator); down undoes it', load: () => import('../cli/realserver/main.js') },
  import: { summary: 'convert keepalived.conf or ipvsadm -S output to tsvs.yaml', load: () => import('../cli/import/main.js') },
  proc: { summary: 'print /proc/net/ip_vs, ip_vs_stats, ip_vs_conn of the running daemon (kernel formats)', load: () => import('../cli/proc/main.js') },
  simulate: { summary: 'preview how rules and changes distribute traffic (no root, no network)', load: () => import('../cli/simulate/main.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((k) => k.length));
  const lines = Object.entries(SUBCOMMANDS).map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`);
  return `Usage: tsvs <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'tsvs <command> --help' for a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  const sub = SUBCOMMANDS[cmd];
  if (!sub) {
    process.stderr.write(`tsvs: unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  const mod = await sub.load();
  return mod.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A command has finished: if something it started still holds the event loop open (a failed
    // daemon start), do not hang — exit once output had time to flush.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (e: unknown) => {
    process.stderr.write(`tsvs: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
