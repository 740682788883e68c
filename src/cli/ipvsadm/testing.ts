// Test support for the ipvsadm formatters (used by *.test.ts only): golden fixtures under
// test/fixtures/ipvsadm/, a service table built from a rules file, counters and rates from JSON,
// and a resolver from a JSON name map.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoDir } from '../../repo-root.js';
import { formatEndpoint, parseIp } from '../../core/net/addr.js';
import type { Destination } from '../../core/service/destination.js';
import { describeServiceKey } from '../../core/service/keys.js';
import type { ServiceTable } from '../../core/service/service-table.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import type { SchedulerFactory } from '../../core/sched/scheduler.js';
import { makeTable } from '../../core/sched/testing.js';
import type { StatsCounters } from '../../core/stats/counters.js';
import { usageErrorText } from './errors.js';
import type { NameResolver } from './resolver.js';
import { parseRestore } from './restore.js';
import { type Rates, type RatesView, ZERO_RATES } from './views.js';

/** The repository root (the directory with package.json and the ipvsadm fixtures). */
export function repoRoot(): string {
  return repoDir('test/fixtures/ipvsadm');
}

/** The text of test/fixtures/ipvsadm/<rel>. */
export function fixture(rel: string): string {
  return readFileSync(join(repoRoot(), 'test', 'fixtures', 'ipvsadm', rel), 'utf8');
}

const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

/** Schedulers that never pick anything: the formatters only need the names. */
function dummyFactories(): SchedulerFactory[] {
  return SCHEDULERS.map((name) => ({ name, create: () => ({ name, schedule: () => undefined }) }));
}

/** A service table after applying the add-service/add-server lines of an `ipvsadm -R` text. */
export function tableFromRules(rules: string): ServiceTable {
  const { table } = makeTable(dummyFactories());
  for (const e of parseRestore(rules)) {
    if (!e.result.ok) throw new Error(`rules line ${e.line}: ${usageErrorText(e.result.error)}`);
    const c = e.result.command;
    if (c.kind === 'add-service') table.addService(c.service);
    else if (c.kind === 'add-server') table.addDest(c.key, c.dest);
    else throw new Error(`rules line ${e.line}: unexpected ${c.kind}`);
  }
  return table;
}

type Five = [number, number, number, number, number];
interface DestCounters { conns?: [number, number, number]; stats?: Five; rates?: Five }
interface SvcCounters { stats?: Five; rates?: Five; dests?: Record<string, DestCounters> }
/** counters.json: per service (describeServiceKey) and destination (addr:port). */
export interface CountersFile { totals?: { stats?: Five; rates?: Five }; services: Record<string, SvcCounters> }

function setStats(s: StatsCounters, v: Five | undefined): void {
  if (!v) return;
  [s.conns, s.inPkts, s.outPkts, s.inBytes, s.outBytes] = v;
}

function rates(v: Five | undefined): Rates {
  return v ? { cps: v[0], inpps: v[1], outpps: v[2], inbps: v[3], outbps: v[4] } : ZERO_RATES;
}

/** Sets counters from a counters.json text; returns the rates view and total rates it describes. */
export function applyCounters(table: ServiceTable, json: string): { ratesOf: RatesView; totalRates: Rates } {
  const file = JSON.parse(json) as CountersFile;
  const byObj = new Map<VirtualService | Destination, Rates>();
  setStats(table.totals, file.totals?.stats);
  for (const svc of table.services()) {
    const c = file.services[describeServiceKey(svc.key)];
    if (!c) continue;
    setStats(svc.stats, c.stats);
    byObj.set(svc, rates(c.rates));
    for (const d of svc.destinations) {
      const dc = c.dests?.[formatEndpoint(d.addr, d.port)];
      if (!dc) continue;
      if (dc.conns) [d.activeConns, d.inactConns, d.persistConns] = dc.conns;
      setStats(d.stats, dc.stats);
      byObj.set(d, rates(dc.rates));
    }
  }
  return { ratesOf: (o) => byObj.get(o) ?? ZERO_RATES, totalRates: rates(file.totals?.rates) };
}

/** A resolver from {"hosts": {"addr": "name"}, "services": {"tcp/80": "http"}}. */
export function resolverFromJson(json: string): NameResolver {
  const m = JSON.parse(json) as { hosts: Record<string, string>; services: Record<string, string> };
  const hostByAddr = new Map(Object.entries(m.hosts).map(([a, n]) => [formatEndpoint(parseIp(a)!, 0), n]));
  return {
    host: (addr) => hostByAddr.get(formatEndpoint(addr, 0)),
    service: (port, proto) => m.services[`${proto}/${port}`],
    hostToAddr: (name) => {
      const hit = Object.entries(m.hosts).find(([, n]) => n === name);
      const a = hit ? parseIp(hit[0]) : undefined;
      return a && a.family === 4 ? a : undefined;
    },
    serviceToPort: (name, proto) => {
      const hit = Object.entries(m.services).find(([k, n]) => n === name && k.startsWith(`${proto}/`));
      return hit ? Number(hit[0].split('/')[1]) : undefined;
    },
  };
}
