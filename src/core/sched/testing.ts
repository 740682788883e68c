// Test fixtures for schedulers and the service table (used by *.test.ts only; pure like the core).
import { ManualClock } from '../clock.js';
import { type Endpoint, parseEndpoint, parseIp } from '../net/addr.js';
import { SeededRandom } from '../random.js';
import { ServiceTable } from '../service/service-table.js';
import { DEST_DEFAULTS, DEST_F_OVERLOAD, type DestConfig, type Protocol, type ServiceConfig, type ServiceKey, defaultNetmask } from '../service/types.js';
import { type FlowInfo, MH_DEFAULT_TABLE_SIZE, type SchedulerEnv, type SchedulerFactory, SchedulerRegistry } from './scheduler.js';

export interface TestTable {
  readonly table: ServiceTable;
  readonly clock: ManualClock;
  readonly env: SchedulerEnv;
  readonly registry: SchedulerRegistry;
}

/** A service table whose registry holds the given factories; env fields may be overridden. */
export function makeTable(factories: readonly SchedulerFactory[], env: Partial<SchedulerEnv> = {}): TestTable {
  const registry = new SchedulerRegistry();
  for (const f of factories) registry.register(f);
  const clock = (env.clock as ManualClock | undefined) ?? new ManualClock(0);
  const fullEnv: SchedulerEnv = {
    clock,
    random: env.random ?? new SeededRandom(1),
    mhTableSize: env.mhTableSize ?? MH_DEFAULT_TABLE_SIZE,
    lblcExpirationS: env.lblcExpirationS ?? 86400,
    lblcrExpirationS: env.lblcrExpirationS ?? 86400,
  };
  return { table: new ServiceTable({ registry, env: fullEnv }), clock, env: fullEnv, registry };
}

/** Parses "ip:port" / "[ip6]:port" or throws. */
export function ep(text: string): Endpoint {
  const e = parseEndpoint(text);
  if (!e) throw new Error(`bad endpoint in test: ${text}`);
  return e;
}

/** A service key: svcKey('tcp', '10.0.0.1:80'). */
export function svcKey(protocol: Protocol, endpoint: string): ServiceKey {
  const e = ep(endpoint);
  return { kind: 'addr', protocol, addr: e.addr, port: e.port };
}

/** A service config with ipvsadm's defaults. */
export function svcConfig(key: ServiceKey, scheduler: string, extra: Partial<ServiceConfig> = {}): ServiceConfig {
  const family = key.kind === 'addr' ? key.addr.family : key.family;
  return { key, scheduler, flags: 0, timeoutS: 0, netmask: defaultNetmask(family), ...extra };
}

/** A destination config: destConfig('10.0.0.2:80', 3). */
export function destConfig(endpoint: string, weight = 1, extra: Partial<DestConfig> = {}): DestConfig {
  const e = ep(endpoint);
  return { ...DEST_DEFAULTS, addr: e.addr, port: e.port, weight, ...extra };
}

/** A flow from src to dst ("ip:port" each). */
export function flow(src: string, dst: string, protocol: Protocol = 'tcp'): FlowInfo {
  const s = ep(src);
  const d = ep(dst);
  return { protocol, srcAddr: s.addr, srcPort: s.port, dstAddr: d.addr, dstPort: d.port };
}

/** Parses an address or throws. */
export function ip(text: string) {
  const a = parseIp(text);
  if (!a) throw new Error(`bad address in test: ${text}`);
  return a;
}

/** Weight, active, inactive connections and the OVERLOAD flag of one test destination. */
export interface PickDest { w?: number; a?: number; i?: number; o?: boolean }

/**
 * Builds a TCP service whose destinations A, B, C... (10.0.1.1, .2, .3...) are in list order
 * (newest first) as the keys of `dests` are, sets their weights, counters and OVERLOAD flags, and
 * returns the letter the scheduler picks for one flow, or '-' for none.
 */
export function pick(sched: SchedulerFactory, dests: Record<string, PickDest>): string {
  const key = svcKey('tcp', '10.0.0.1:80');
  const { table } = makeTable([sched]);
  const svc = table.addService(svcConfig(key, sched.name));
  for (const [n, c] of Object.entries(dests).reverse()) {
    const d = table.addDest(key, destConfig(`10.0.1.${'ABCDEFGH'.indexOf(n) + 1}:80`, c.w ?? 1));
    d.activeConns = c.a ?? 0;
    d.inactConns = c.i ?? 0;
    if (c.o) d.flags |= DEST_F_OVERLOAD;
  }
  const chosen = svc.sched!.schedule(svc, flow('192.0.2.1:40000', '10.0.0.1:80'));
  return chosen ? 'ABCDEFGH'[chosen.addr.bytes[3] - 1] : '-';
}
