// Fixtures for the connection-layer tests (pure, like the core): a trivial scheduler, a service
// table with an Ipvs on a ManualClock, and packet builders.
import type { ManualClock } from '../clock.js';
import { SeededRandom } from '../random.js';
import type { Scheduler, SchedulerFactory } from '../sched/scheduler.js';
import { destConfig, ep, makeTable, svcConfig, svcKey } from '../sched/testing.js';
import type { Destination } from '../service/destination.js';
import type { ServiceTable } from '../service/service-table.js';
import type { DestConfig, Protocol, ServiceConfig, ServiceKey } from '../service/types.js';
import { Ipvs, type IpvsOptions, type PacketMeta } from './ipvs.js';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

/** A stand-in scheduler named 'rr': the first destination (list order) with weight > 0 and no OVERLOAD. */
export const firstAvailable: SchedulerFactory = {
  name: 'rr',
  create(): Scheduler {
    return {
      name: 'rr',
      schedule(svc) {
        return svc.destinations.find((d) => d.weight > 0 && !d.isSkipped);
      },
    };
  },
};

export interface Lab {
  readonly table: ServiceTable;
  readonly clock: ManualClock;
  readonly ipvs: Ipvs;
  /** Adds a service; `extra` may set flags, timeoutS, netmask. */
  service(proto: Protocol, endpoint: string, extra?: Partial<ServiceConfig>): ServiceKey;
  /** Adds a destination to a service. */
  dest(key: ServiceKey, endpoint: string, extra?: Partial<DestConfig>): Destination;
  /** Advances the clock by ms and runs tick(). */
  advance(ms: number): void;
}

/** A service table with the 'rr' stand-in, and an Ipvs on the same ManualClock. */
export function lab(opts: Partial<IpvsOptions> = {}): Lab {
  const { table, clock } = makeTable([firstAvailable]);
  const ipvs = new Ipvs(table, { clock, random: new SeededRandom(7), ...opts });
  return {
    table, clock, ipvs,
    service(proto, endpoint, extra = {}) {
      const key = svcKey(proto, endpoint);
      table.addService(svcConfig(key, 'rr', extra));
      return key;
    },
    dest(key, endpoint, extra = {}) {
      return table.addDest(key, destConfig(endpoint, extra.weight ?? 1, extra));
    },
    advance(ms) {
      clock.advance(ms);
      ipvs.tick();
    },
  };
}

/** A packet from src to dst ("ip:port"). */
export function pkt(protocol: Protocol, src: string, dst: string, tcpFlags = 0, extra: Partial<PacketMeta> = {}): PacketMeta {
  const s = ep(src);
  const d = ep(dst);
  return { protocol, saddr: s.addr, sport: s.port, daddr: d.addr, dport: d.port, tcpFlags, sctpChunk: 0, fwmark: 0, length: 60, ...extra };
}

/** TCP packet shorthand. */
export function tcp(src: string, dst: string, flags: number, extra: Partial<PacketMeta> = {}): PacketMeta {
  return pkt('tcp', src, dst, flags, extra);
}
