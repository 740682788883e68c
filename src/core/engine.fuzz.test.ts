// Fuzz: 1M random and mutated frames through engine.process (issue: no exception, no read past the
// frame). Two engines with identical state get each frame in buffers whose bytes after the frame
// differ (0x00 vs 0xff); any read past `length` would make their verdicts or outputs differ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.js';
import { Ipvs } from './conn/ipvs.js';
import { newVerdict, type NetContext } from './engine-contract.js';
import { Engine } from './engine.js';
import type { IpAddress } from './net/addr.js';
import { GOLDEN } from './packet/golden-frames.js';
import { FIX, fromHex } from './packet/testing.js';
import { SeededRandom } from './random.js';
import { registerBuiltinSchedulers } from './sched/builtin.js';
import { SchedulerRegistry } from './sched/scheduler.js';
import { ServiceTable } from './service/service-table.js';
import { DEST_DEFAULTS, type ForwardMethod, type Protocol } from './service/types.js';

const FRAMES = 1_000_000;
const ip4 = (b: Uint8Array): IpAddress => ({ family: 4, bytes: b });
const ip6 = (b: Uint8Array): IpAddress => ({ family: 6, bytes: b });

function makeEngine(): Engine {
  const clock = new ManualClock(0);
  const random = new SeededRandom(3);
  const registry = new SchedulerRegistry();
  registerBuiltinSchedulers(registry);
  const table = new ServiceTable({ registry, env: { clock, random, mhTableSize: 251, lblcExpirationS: 86400, lblcrExpirationS: 86400 } });
  const ipvs = new Ipvs(table, { clock, random, maxConns: 50_000, fullnatPool: { addresses: [ip4(FIX.LIP)], portMin: 40000, portMax: 40999 } });
  const hop4 = { ifIndex: 1, mac: FIX.RSM, src: ip4(FIX.DIP), mtu: 1500 };
  const hop6 = { ifIndex: 1, mac: FIX.RSM, src: ip6(FIX.DIP6), mtu: 1500 };
  const net: NetContext = {
    interfaces: () => [{ ifIndex: 1, name: 'eth0', mac: FIX.DIR, mtu: 1500, addrs: [ip4(FIX.DIP)] }],
    nextHop: (dst) => (dst.family === 4 ? hop4 : hop6),
    isLocal: () => false,
  };
  const svcs: Array<[Protocol, IpAddress, number, ForwardMethod, string]> = [
    ['tcp', ip4(FIX.VIP), 80, 'masq', 'rr'], ['udp', ip4(FIX.VIP), 53, 'droute', 'sh'],
    ['sctp', ip4(FIX.VIP), 80, 'tunnel', 'wlc'], ['tcp', ip6(FIX.VIP6), 80, 'fullnat', 'mh'],
    ['udp', ip6(FIX.VIP6), 53, 'tunnel', 'lc'], ['tcp', ip4(FIX.VIP), 443, 'fullnat', 'wrr'],
  ];
  for (const [protocol, addr, port, method, scheduler] of svcs) {
    const key = { kind: 'addr' as const, protocol, addr, port };
    table.addService({ key, scheduler, flags: 0, timeoutS: 0, netmask: addr.family === 4 ? 0xffffffff : 128 });
    const rs = addr.family === 4 ? ip4(FIX.RS) : ip6(FIX.RS6);
    table.addDest(key, { ...DEST_DEFAULTS, addr: rs, port: 8080, method, weight: 1, tunType: method === 'tunnel' && protocol === 'udp' ? 'gue' : 'ipip', tunPort: 6080 });
  }
  return new Engine({ table, ipvs, net });
}

test(`engine.process survives ${FRAMES} random and mutated frames without throwing or reading past the frame`, () => {
  const a = makeEngine();
  const b = makeEngine();
  const seeds = Object.entries(GOLDEN).filter(([k]) => k.startsWith('in_')).map(([, h]) => fromHex(h));
  const rng = new SeededRandom(12345);
  const bufA = new Uint8Array(2048);
  const bufB = new Uint8Array(2048);
  const work = new Uint8Array(2048);
  const va = newVerdict();
  const vb = newVerdict();
  let forwarded = 0;
  for (let i = 0; i < FRAMES; i++) {
    let len: number;
    const r = rng.nextU32();
    if ((r & 7) === 0) {
      len = rng.nextU32() % 200;
      for (let j = 0; j < len; j++) work[j] = rng.nextU32() & 0xff;
    } else {
      const s = seeds[r % seeds.length];
      len = s.length;
      work.set(s);
      const flips = 1 + (rng.nextU32() % 4);
      for (let f = 0; f < flips; f++) {
        const pos = rng.nextU32() % len;
        if ((r >>> 8) & 1) work[pos] = rng.nextU32() & 0xff;
        else work[pos] ^= 1 << (rng.nextU32() & 7);
      }
      if (((r >>> 9) & 3) === 0) len = rng.nextU32() % (len + 1);
      // Vary client addresses/ports so new connections keep being created.
      if (len > 40) { work[len - 1] ^= i & 0xff; }
    }
    bufA.fill(0x00, 0, len + 64); bufA.set(work.subarray(0, len));
    bufB.fill(0xff, 0, len + 64); bufB.set(work.subarray(0, len));
    a.process(bufA, len, 1, va);
    b.process(bufB, len, 1, vb);
    if (va.kind !== vb.kind || va.outLength !== vb.outLength || va.dropReason !== vb.dropReason) {
      assert.fail(`frame ${i}: verdicts differ (${va.kind}/${va.outLength}/${va.dropReason} vs ${vb.kind}/${vb.outLength}/${vb.dropReason}): a read past the frame`);
    }
    for (let j = 0; j < va.outLength; j++) {
      if (va.out[j] !== vb.out[j]) assert.fail(`frame ${i}: output byte ${j} differs: a read past the frame`);
    }
    if (va.kind === 1) forwarded++;
    if ((i & 0xffff) === 0) { a.tick(); b.tick(); }
  }
  assert.ok(forwarded > 1000, `the corpus reaches the forwarding paths (forwarded ${forwarded})`);
});
