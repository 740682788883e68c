// The packet plane under load for bench/packet-io.sh: runs PacketPlane in the current network
// namespace with the DR test engine (test/packet/fixtures/dr-engine) for one UDP service, prints
// READY, and on SIGINT/SIGTERM stops and prints the final I/O counters as one JSON line.
//   node dist/bench/packet-fwd.js IFACE VIP PORT RIP [WORKERS] [BATCH]
import { fileURLToPath } from 'node:url';
import type { TableOp } from '../src/control/director-api.js';
import { parseIp } from '../src/core/net/addr.js';
import { PacketPlane } from '../src/dataplane/packet/plane.js';

const [ifname, vipText, portText, ripText, workersText, batchText] = process.argv.slice(2);
const vip = parseIp(vipText ?? '');
const rip = parseIp(ripText ?? '');
if (!ifname || !vip || !rip) {
  process.stderr.write('usage: packet-fwd IFACE VIP PORT RIP [WORKERS] [BATCH]\n');
  process.exit(2);
}
const port = Number(portText);
const key = { kind: 'addr' as const, protocol: 'udp' as const, addr: vip, port };
const ops: TableOp[] = [
  { op: 'add-service', service: { key, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff } },
  { op: 'add-dest', key, dest: { addr: rip, port, method: 'droute', weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0, tunCsum: 'nocsum' } },
];
const plane = new PacketPlane();
await plane.start({
  interfaces: [ifname], engineModule: fileURLToPath(new URL('../test/packet/fixtures/dr-engine.js', import.meta.url)), ops,
  workers: Number(workersText ?? 1), batch: Number(batchText ?? 64), nftTable: 'tsvs_pio_bench', factsRefreshMs: 60_000,
});
process.stdout.write('READY\n');
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void plane.stop().then((s) => {
    process.stdout.write(JSON.stringify(s.io) + '\n');
    process.exit(0);
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
