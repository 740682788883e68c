// engine.process on the traffic of bench/packet-bench.sh, in process (no I/O): 106-byte UDP frames
// (64-byte payload) of 64 flows to one service with one real server, each copied into a 2048-byte
// buffer as the packet plane's staging slot holds it (so tunnel encapsulation can work in place),
// established connections after the first round. Prints ns per packet for each forwarding method.
//   node dist/bench/packet-engine.js [MS_PER_METHOD=1500] [METHOD...]
import { Ipvs } from '../src/core/conn/ipvs.js';
import { newVerdict, VerdictKind, type NetContext } from '../src/core/engine-contract.js';
import { Engine } from '../src/core/engine.js';
import type { IpAddress } from '../src/core/net/addr.js';
import { DEST_DEFAULTS, type ForwardMethod } from '../src/core/service/types.js';
import { benchTable } from './bench-table.js';

const ip4 = (...b: number[]): IpAddress => ({ family: 4, bytes: new Uint8Array(b) });
const FLOWS = 64;
const PAYLOAD = 64;
const LEN = 14 + 20 + 8 + PAYLOAD;

function sum16(p: Uint8Array, o: number, n: number, s: number): number {
  for (let i = 0; i + 1 < n; i += 2) s += (p[o + i] << 8) | p[o + i + 1];
  return s;
}
function fold(s: number): number {
  while (s >> 16) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** The frames bench/packet-gen.c sends: 198.18.0.1:10000+f -> 198.18.2.100:80, valid checksums. */
function frames(): Uint8Array {
  const t = new Uint8Array(FLOWS * LEN);
  for (let f = 0; f < FLOWS; f++) {
    const fr = t.subarray(f * LEN, (f + 1) * LEN);
    fr.set([2, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0xc0, 8, 0]);
    fr.set([0x45, 0, 0, 28 + PAYLOAD, 0, f, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 2, 100], 14);
    let c = fold(sum16(fr, 14, 20, 0));
    fr[24] = c >> 8; fr[25] = c & 0xff;
    const sp = 10000 + f;
    fr.set([sp >> 8, sp & 0xff, 0, 80, 0, 8 + PAYLOAD, 0, 0], 34);
    for (let i = 0; i < PAYLOAD; i++) fr[42 + i] = (i * 7 + f) & 0xff;
    c = fold(sum16(fr, 42 - 8, 8 + PAYLOAD, sum16(fr, 26, 8, 17 + 8 + PAYLOAD)));
    if (c === 0) c = 0xffff;
    fr[40] = c >> 8; fr[41] = c & 0xff;
  }
  return t;
}

function measure(method: ForwardMethod, ms: number): { ns: number; forwarded: number; n: number } {
  const { clock, random, table } = benchTable();
  const ipvs = new Ipvs(table, { clock, random, fullnatPool: { addresses: [ip4(198, 18, 1, 2)] } });
  const hop = { ifIndex: 2, mac: new Uint8Array([2, 0, 0, 0, 2, 0]), src: ip4(198, 18, 1, 2), mtu: 1500 };
  const net: NetContext = {
    interfaces: () => [
      { ifIndex: 1, name: 'l0', mac: new Uint8Array([2, 0, 0, 0, 1, 0]), mtu: 1500, addrs: [ip4(198, 18, 0, 2)] },
      { ifIndex: 2, name: 'l1', mac: new Uint8Array([2, 0, 0, 0, 1, 1]), mtu: 1500, addrs: [ip4(198, 18, 1, 2)] },
    ],
    nextHop: () => hop,
    isLocal: () => false,
  };
  const key = { kind: 'addr' as const, protocol: 'udp' as const, addr: ip4(198, 18, 2, 100), port: 80 };
  table.addService({ key, scheduler: 'rr', flags: 0, timeoutS: 0, netmask: 0xffffffff });
  table.addDest(key, { ...DEST_DEFAULTS, addr: ip4(198, 18, 1, 1), port: 80, method, weight: 1 });
  const engine = new Engine({ table, ipvs, net });
  const tmpl = frames();
  const slot = new Uint8Array(2048);
  const v = newVerdict();
  let n = 0;
  let forwarded = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(ms) * 1_000_000n;
  let now = t0;
  while (now < end) {
    for (let i = 0; i < 1024; i++) {
      const f = (n + i) & (FLOWS - 1);
      slot.set(tmpl.subarray(f * LEN, (f + 1) * LEN));
      engine.process(slot, LEN, 1, v);
      if (v.kind === VerdictKind.Forward) forwarded++;
    }
    n += 1024;
    if ((n & 0xffff) === 0) clock.advance(1);
    now = process.hrtime.bigint();
  }
  return { ns: Number(now - t0) / n, forwarded, n };
}

const ms = Number(process.argv[2] ?? 1500);
const methods = (process.argv.length > 3 ? process.argv.slice(3) : ['droute', 'masq', 'tunnel', 'fullnat']) as ForwardMethod[];
for (const m of methods) {
  measure(m, 300); // warm-up
  const r = measure(m, ms);
  process.stdout.write(`${m.padEnd(8)} ${r.ns.toFixed(0).padStart(5)} ns/packet  (forwarded ${r.forwarded} of ${r.n})\n`);
}
