// `tsvs run`: the daemon. Loads the config (default /etc/tsvs/tsvs.yaml when present; none = an
// empty table, like a fresh kernel), runs until SIGTERM/SIGINT (drain, then exit), reloads on SIGHUP.
import { parseArgs } from 'node:util';
import { ConfigError } from '../../control/config/load.js';
import { OFFLOAD_MODES, RUN_DATAPLANES, isOffloadMode, isRunDataplane } from '../../control/config/schema.js';
import { Daemon, defaultConfigSource, type ConfigSource } from '../../control/daemon/daemon.js';
import { PARALLEL_GC_ENV, chooseGcMode } from '../../dataplane/gc-mode.js';

const USAGE = `Usage: tsvs run [-c FILE] [--dataplane ${RUN_DATAPLANES.join('|')}] [--iface IF[,IF...]] [--offload ${OFFLOAD_MODES.join('|')}]
                [--control-socket PATH] [--api ip:port] [--no-api] [--grace SECONDS]

  -c, --config FILE     YAML configuration (default /etc/tsvs/tsvs.yaml if present, else an empty table)
  --dataplane KIND      proxy (sockets, no root; default), packet (AF_PACKET, root) or none
  --iface IF[,IF...]    interfaces of the packet data plane
  --offload MODE        packet plane: forward established direct-routing flows in the kernel with
                        XDP (xdp: generic, any driver; xdp-native: the driver's), a tcx ingress
                        program (tc: any driver, Linux 6.6+, no copy per frame), none (default)
  --control-socket PATH where tsvsadm reaches the daemon (default /run/tsvs/tsvs.sock, per-user when not root)
  --api ip:port         REST API listener, metrics too unless metrics.listen is set (default 127.0.0.1:9180)
  --no-api              do not start the REST API
  --grace SECONDS       how long SIGTERM lets connections drain (default 5)
Environment: ${PARALLEL_GC_ENV}=1 keeps V8's parallel scavenger (default: scavenges on the loop's thread,
  which keeps collection pauses short on a busy event loop; see docs/adr/0004-native-tcp-io.md).
Signals: SIGHUP reloads the config (a bad config changes nothing); SIGTERM/SIGINT drain and exit.
`;

export async function main(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' }, dataplane: { type: 'string' }, iface: { type: 'string' }, offload: { type: 'string' },
        'control-socket': { type: 'string' }, api: { type: 'string' }, 'no-api': { type: 'boolean' },
        grace: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`tsvs run: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (v.help) { process.stdout.write(USAGE); return 0; }
  if (v.dataplane !== undefined && !isRunDataplane(v.dataplane)) {
    process.stderr.write(`tsvs run: --dataplane must be one of ${RUN_DATAPLANES.join(', ')}: got '${v.dataplane}'\n`);
    return 2;
  }
  if (v.offload !== undefined && !isOffloadMode(v.offload)) {
    process.stderr.write(`tsvs run: --offload must be one of ${OFFLOAD_MODES.join(', ')}: got '${v.offload}'\n`);
    return 2;
  }
  const grace = v.grace === undefined ? 5 : Number(v.grace);
  if (!(grace >= 0 && grace <= 3600)) { process.stderr.write(`tsvs run: --grace must be 0..3600 seconds: got '${v.grace}'\n`); return 2; }
  const config: ConfigSource = v.config ? { kind: 'file', path: v.config } : defaultConfigSource();
  chooseGcMode();
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({
      config,
      overrides: {
        dataplane: v.dataplane,
        interfaces: v.iface ? v.iface.split(',').filter(Boolean) : undefined,
        offload: v.offload,
        controlSocket: v['control-socket'],
        apiListen: v.api,
        api: v['no-api'] ? false : undefined,
      },
    });
  } catch (e) {
    const msg = e instanceof ConfigError || e instanceof Error ? e.message : String(e);
    process.stderr.write(`tsvs run: ${msg}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      daemon.stop(grace * 1000).then(() => resolve(0), () => resolve(1));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => { daemon.reload(); });
  });
}
