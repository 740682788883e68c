// `tsvs demo` (what `npm start` runs): the proxy plane on loopback in front of three built-in demo
// real servers, with the REST API and metrics, and a note on what to try. Ctrl-C stops it cleanly.
import { Daemon } from '../../control/daemon/daemon.js';
import { jsonLogger } from '../../control/daemon/logger.js';
import { startDemoBackends } from '../../dataplane/proxy/demo.js';
import { chooseGcMode } from '../../dataplane/gc-mode.js';

const DEMO_PORT = 8081;

function demoConfig(port: number): string {
  return `# tsvs demo: proxy plane on loopback
dataplane:
  kind: proxy
api:
  listen: 127.0.0.1:9180
services:
  - name: web
    protocol: tcp
    address: 127.0.0.1
    port: 8080
    scheduler: wlc
    forwarding: masq
    health:
      delayLoop: 2
      connectTimeout: 1
    realServers:
${['127.0.0.11', '127.0.0.12', '127.0.0.13'].map((a, i) => `      - address: ${a}
        port: ${port}
        weight: ${i + 1}
        checks:
          - type: http
            urls: [{ path: / }]`).join('\n')}
`;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write('Usage: tsvs demo\n\nStarts tsvs (proxy plane) on 127.0.0.1:8080 in front of three demo real servers.\n');
    return 0;
  }
  chooseGcMode();
  const backends = await startDemoBackends(3, DEMO_PORT);
  const quiet = jsonLogger((line) => { if (/"level":"(warn|error)"|health-transition/.test(line)) process.stderr.write(line); });
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ config: { kind: 'text', text: demoConfig(DEMO_PORT), name: 'demo.yaml' }, logger: quiet });
  } catch (e) {
    await Promise.all(backends.map((b) => b.close()));
    process.stderr.write(`tsvs demo: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`tsvs is running (proxy plane) on 127.0.0.1:8080 in front of 3 demo real servers (weights 1, 2, 3).

Try:
  curl http://127.0.0.1:8080/                      # answered by backend a, b or c
  TSVS_SOCKET=${daemon.controlSocketPath} npx tsvsadm -L -n --stats
  TSVS_SOCKET=${daemon.controlSocketPath} npx tsvsadm -e -t 127.0.0.1:8080 -r 127.0.0.13:${DEMO_PORT} -m -w 0   # drain c
  curl http://127.0.0.1:9180/metrics               # Prometheus metrics
  open http://127.0.0.1:9180/                      # dashboard

Ctrl-C stops it.
`);
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.write('\nstopping...\n');
      daemon.stop(1000).then(() => Promise.all(backends.map((b) => b.close()))).then(() => resolve(0), () => resolve(1));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
