// What the proxy plane's engine (src/dataplane/proxy/ipvs-engine.ts) costs per proxied TCP
// connection and per keep-alive request, with no sockets: the socket events of a Connection: close
// request (accept, connected, request, response, server FIN, client FIN, closed) and of one
// request/response on an open connection, fed to the core's connection layer as the plane feeds
// them. The table holds the TIME_WAIT entries that earlier connections leave behind (2 minutes at
// the benchmark's 10,000 connections/s: about 1.2 million), as a long-running balancer's does.
import { pathToFileURL } from 'node:url';
import { Ipvs } from '../src/core/conn/ipvs.js';
import { parseIp } from '../src/core/net/addr.js';
import { DEST_DEFAULTS } from '../src/core/service/types.js';
import type { FlowAddrs } from '../src/dataplane/proxy/engine.js';
import { IpvsEngine } from '../src/dataplane/proxy/ipvs-engine.js';
import { benchTable } from './bench-table.js';

const CELL_MS = 1000;
/** TIME_WAIT, as in IPVS (spec §2.5): how long a closed connection's entry stays. */
const TIME_WAIT_S = 120;

function setup(maxConns: number) {
  const { clock, random, table } = benchTable();
  const ipvs = new Ipvs(table, { clock, random, maxConns });
  const key = { kind: 'addr' as const, protocol: 'tcp' as const, addr: parseIp('127.0.0.1')!, port: 9104 };
  const svc = table.addService({ key, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff });
  for (const rs of ['127.0.0.2', '127.0.0.3']) table.addDest(key, { ...DEST_DEFAULTS, addr: parseIp(rs)!, port: 8080, method: 'masq', weight: 1 });
  return { clock, ipvs, svc, engine: new IpvsEngine(ipvs, table) };
}

/** The n-th client flow, from 10.x.y.z:port (distinct for n < 2^24 * 28000), made as the plane makes one per accept. */
function flow(n: number): FlowAddrs {
  const a = 0x0a000000 + Math.floor(n / 28000);
  const bytes = Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
  return { clientIp: '', clientAddr: { family: 4, bytes }, clientPort: 1024 + (n % 28000), vip: '127.0.0.1', vport: 9104 };
}

/**
 * Connections arrive at `entries` / 120 per second of simulated time, so the table settles at about
 * `entries` TIME_WAIT entries; the table is filled to that before timing.
 */
function measureProxyEngine(entries: number): { connNs: number; requestNs: number; entries: number } {
  const { clock, ipvs, svc, engine } = setup(4 << 20);
  const msPer100 = (100 * 1000 * TIME_WAIT_S) / entries;
  let n = 0;
  const close = () => {
    const c = engine.open(svc, 'tcp', flow(n++), 0);
    if (typeof c === 'string') throw new Error(`refused: ${c}`);
    c.established();
    c.inData(78);
    c.outData(1100);
    c.serverFin();
    c.clientFin();
    c.closed();
    if (n % 100 === 0) { clock.advance(msPer100); ipvs.tick(); }
  };
  while (n < entries * 1.1) close();
  let t0 = process.hrtime.bigint();
  let end = t0 + BigInt(CELL_MS) * 1_000_000n;
  let done = 0;
  let now = t0;
  while (now < end) {
    for (let i = 0; i < 256; i++) close();
    done += 256;
    now = process.hrtime.bigint();
  }
  const connNs = Number(now - t0) / done;
  const settled = ipvs.conns.count;
  // Keep-alive: 64 open connections, one request and one response each in turn.
  const open = Array.from({ length: 64 }, () => {
    const c = engine.open(svc, 'tcp', flow(n++), 0);
    if (typeof c === 'string') throw new Error(`refused: ${c}`);
    c.established();
    return c;
  });
  t0 = process.hrtime.bigint();
  end = t0 + BigInt(CELL_MS) * 1_000_000n;
  done = 0;
  now = t0;
  while (now < end) {
    for (let i = 0; i < 256; i++) {
      const c = open[i & 63];
      c.inData(78);
      c.outData(1100);
    }
    done += 256;
    now = process.hrtime.bigint();
  }
  return { connNs, requestNs: Number(now - t0) / done, entries: settled };
}

export async function runProxyEngineBench(): Promise<string> {
  let md = '### Proxy plane engine per connection and per keep-alive request (ns, no sockets; masq, rr, 2 real servers)\n\n';
  md += '| TIME_WAIT entries in the table | Connection: close (7 socket events) | keep-alive request (2 events) |\n|--:|--:|--:|\n';
  for (const entries of [10_000, 1_200_000]) {
    measureProxyEngine(entries); // warm-up
    const r = measureProxyEngine(entries);
    md += `| ${r.entries.toLocaleString('en-US')} | ${r.connNs.toFixed(0)} | ${r.requestNs.toFixed(0)} |\n`;
  }
  return md;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runProxyEngineBench().then((s) => process.stdout.write(s));
}
