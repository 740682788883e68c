// Full NAT (tsvs's 'fullnat' method): the director also rewrites the client side to one of its
// own addresses and a port from a range, so replies come back to it whatever the real server's
// routing. A local endpoint is unique per (protocol, local addr, local port, server addr, server
// port): allocation probes the out-index, which is exactly where replies are looked up.
import type { IpAddress } from '../net/addr.js';
import { ipKey } from '../net/addr.js';
import type { RandomSource } from '../random.js';
import { type ConnKey, fold16, u32Of } from './conn-key.js';
import type { ConnTable } from './conn-table.js';

/** Where full-NAT local endpoints come from. */
export interface FullNatPoolConfig {
  /** Director addresses to use as source toward real servers (IPv4 and/or IPv6). */
  readonly addresses: readonly IpAddress[];
  /** Local port range, inclusive (default 1024..65535). */
  readonly portMin?: number;
  readonly portMax?: number;
  /**
   * This engine's share of the ports when several forwarding workers each run one: the ports
   * with `port % count === index`, so a reply's destination port names the worker that owns its
   * connection (the packet plane's fanout program steers by it).
   */
  readonly share?: { readonly index: number; readonly count: number };
}

export class FullNatPool {
  readonly addresses: readonly IpAddress[];
  /** IPv4 value or IPv6 fold of each address (what the out-index hashes). */
  readonly local32: Uint32Array;
  readonly portMin: number;
  readonly portMax: number;
  /** The first port of this engine's share, the distance between its ports and how many there are. */
  private readonly first: number;
  private readonly step: number;
  private readonly slots: number;
  private cursor: number;
  private addrCursor = 0;

  constructor(cfg: FullNatPoolConfig, random: RandomSource) {
    const min = cfg.portMin ?? 1024;
    const max = cfg.portMax ?? 65535;
    if (cfg.addresses.length === 0) throw new RangeError('A full-NAT pool needs at least one address');
    if (cfg.addresses.length > 65535) throw new RangeError('A full-NAT pool holds at most 65535 addresses');
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new RangeError(`Full-NAT port range must be 1..65535 with min <= max: current value is ${min}-${max}`);
    }
    const seen = new Set<string>();
    for (const a of cfg.addresses) {
      const k = ipKey(a);
      if (seen.has(k)) throw new RangeError(`Full-NAT address ${k} is listed twice`);
      seen.add(k);
    }
    this.addresses = [...cfg.addresses];
    this.local32 = Uint32Array.from(this.addresses, (a) => (a.family === 4 ? u32Of(a) : fold16(a.bytes)));
    this.portMin = min;
    this.portMax = max;
    const { index, count } = cfg.share ?? { index: 0, count: 1 };
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`A full-NAT port share must be an index below its count: current value is ${index} of ${count}`);
    }
    this.step = count;
    this.first = min + ((((index - min) % count) + count) % count);
    this.slots = this.first > max ? 0 : Math.floor((max - this.first) / count) + 1;
    if (this.slots === 0) throw new RangeError(`Full-NAT port range ${min}-${max} has no port for worker ${index} of ${count}: it needs at least ${count} ports`);
    // Start at a random port so local ports are not predictable from the conn count.
    this.cursor = random.nextU32() % this.slots;
  }

  /**
   * A free local endpoint toward server (saddr, sport) for `proto`, as lidx * 65536 + lport, or -1
   * when every port of every address of the family is taken. `k` is scratch.
   */
  allocate(t: ConnTable, k: ConnKey, proto: number, server: IpAddress, sport: number): number {
    const range = this.slots;
    const n = this.addresses.length;
    k.template = false;
    k.proto = proto;
    k.setFirst(server, sport);
    for (let ai = 0; ai < n; ai++) {
      const li = (this.addrCursor + ai) % n;
      const a = this.addresses[li];
      if (a.family !== server.family) continue;
      k.a2 = this.local32[li];
      if (a.family === 6) k.b2.set(a.bytes);
      for (let i = 0; i < range; i++) {
        const off = (this.cursor + i) % range;
        k.p2 = this.first + off * this.step;
        if (t.findOut(k) < 0) {
          this.cursor = (off + 1) % range;
          this.addrCursor = (li + 1) % n;
          return li * 65536 + k.p2;
        }
      }
    }
    return -1;
  }
}
