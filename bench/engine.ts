// engine.process cost per forwarding method on prepared frames (ns per packet, pure JS, no I/O).
// New-connection frames (SYN, each from a fresh client port) and established-connection frames
// (ACK on an existing conn) are measured separately; each cell runs for a bounded time.
import { pathToFileURL } from 'node:url';
import { Ipvs } from '../src/core/conn/ipvs.js';
import { newVerdict, type NetContext } from '../src/core/engine-contract.js';
import { Engine } from '../src/core/engine.js';
import type { IpAddress } from '../src/core/net/addr.js';
import { GOLDEN } from '../src/core/packet/golden-frames.js';
import { FIX, fromHex } from '../src/core/packet/testing.js';
import { DEST_DEFAULTS, type ForwardMethod } from '../src/core/service/types.js';
import { benchTable } from './bench-table.js';

const CELL_MS = 400;
const ip4 = (b: Uint8Array): IpAddress => ({ family: 4, bytes: b });

function setup(method: ForwardMethod) {
  const { clock, random, table } = benchTable();
  const ipvs = new Ipvs(table, { clock, random, fullnatPool: { addresses: [ip4(FIX.LIP)] } });
  const hop = { ifIndex: 1, mac: FIX.RSM, src: ip4(FIX.DIP), mtu: 1500 };
  const net: NetContext = { interfaces: () => [{ ifIndex: 1, name: 'eth0', mac: FIX.DIR, mtu: 1500, addrs: [ip4(FIX.DIP)] }], nextHop: () => hop, isLocal: () => false };
  const key = { kind: 'addr' as const, protocol: 'tcp' as const, addr: ip4(FIX.VIP), port: 80 };
  table.addService({ key, scheduler: 'wlc', flags: 0, timeoutS: 0, netmask: 0xffffffff });
  for (let i = 0; i < 8; i++) {
    const rs = new Uint8Array(FIX.RS); rs[3] += i;
    table.addDest(key, { ...DEST_DEFAULTS, addr: ip4(rs), port: method === 'droute' || method === 'tunnel' ? 80 : 8080, method, weight: 1 });
  }
  return new Engine({ table, ipvs, net });
}

/** ns per engine.process for `method`: SYNs that create connections, then ACKs on existing ones. */
function measure(method: ForwardMethod): { newNs: number; estNs: number } {
  const engine = setup(method);
  const tmpl = fromHex(GOLDEN.in_A);
  const frame = new Uint8Array(tmpl.length);
  const v = newVerdict();
  const FLOWS = 4096;
  // Source ports 10000..10000+FLOWS, fixed up in place (the TCP checksum is not verified by the parser).
  const setPort = (p: number) => { frame.set(tmpl); frame[34] = p >> 8; frame[35] = p & 0xff; };
  const run = (flags: number, ports: number, budgetMs: number) => {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(budgetMs) * 1_000_000n;
    let now = t0;
    while (now < end) {
      for (let i = 0; i < 256; i++) {
        setPort(10000 + ((n + i) % ports));
        frame[47] = flags;
        engine.process(frame, frame.length, 1, v);
      }
      n += 256;
      now = process.hrtime.bigint();
    }
    return Number(now - t0) / n;
  };
  // New connections: a fresh client address per packet (IPv4 header checksum fixed up), prepared
  // before timing; each is copied in because the engine rewrites frames in place.
  const POOL = 1 << 18;
  const pool = new Uint8Array(POOL * tmpl.length);
  for (let k = 0; k < POOL; k++) {
    const o = k * tmpl.length;
    pool.set(tmpl, o);
    pool[o + 28] = 100 + (k >> 16); pool[o + 29] = (k >> 8) & 0xff; pool[o + 34] = 0x80 | (k & 0x7f); pool[o + 35] = k & 0x80;
    pool[o + 24] = 0; pool[o + 25] = 0;
    let sum = 0;
    for (let j = 14; j < 34; j += 2) sum += (pool[o + j] << 8) | pool[o + j + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const c = ~sum & 0xffff;
    pool[o + 24] = c >> 8; pool[o + 25] = c & 0xff;
  }
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(CELL_MS) * 1_000_000n;
  let now = t0;
  while (now < end && n < POOL) {
    for (let i = 0; i < 256; i++, n++) {
      frame.set(pool.subarray(n * tmpl.length, (n + 1) * tmpl.length));
      engine.process(frame, frame.length, 1, v);
    }
    now = process.hrtime.bigint();
  }
  const newNs = Number(now - t0) / n;
  run(0x02, FLOWS, 50); // SYNs for the established set
  const estNs = run(0x10, FLOWS, CELL_MS);
  return { newNs, estNs };
}

export async function runEngineBench(): Promise<string> {
  let md = '### engine.process per forwarding method (ns per packet, prepared 58-byte TCP frames, 8 real servers, wlc)\n\n';
  md += '| method | new connection (SYN) | established connection (ACK) |\n|---|--:|--:|\n';
  for (const m of ['droute', 'masq', 'tunnel', 'fullnat'] as const) {
    measure(m); // warm-up
    const r = measure(m);
    md += `| ${m} | ${r.newNs.toFixed(0)} | ${r.estNs.toFixed(0)} |\n`;
  }
  return md;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runEngineBench().then((s) => process.stdout.write(s));
}
