// Reports of `tsvs simulate`: per-service distribution and the disruption a rule change causes.
import { formatEndpoint } from '../../core/net/addr.js';
import { describeServiceKey } from '../../core/service/keys.js';
import type { ServiceTable } from '../../core/service/service-table.js';
import type { OpenResult } from './simulator.js';

export interface ServiceSummary {
  readonly service: string;
  readonly connections: number;
  readonly realServers: Array<{ readonly dest: string; readonly connections: number; readonly share: number }>;
}

/** Connections and share per service and real server (every configured real server is listed). */
export function summarize(table: ServiceTable, results: readonly OpenResult[]): ServiceSummary[] {
  const byService = new Map<string, Map<string, number>>();
  for (const svc of table.services()) {
    const m = new Map<string, number>();
    for (const d of [...svc.destinations].reverse()) m.set(formatEndpoint(d.addr, d.port === 0 ? svc.port : d.port), 0);
    byService.set(describeServiceKey(svc.key), m);
  }
  for (const r of results) {
    const name = r.service ?? '(no service)';
    let m = byService.get(name);
    if (!m) { m = new Map(); byService.set(name, m); }
    const key = r.dest === '-' ? '-' : r.dest;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  const out: ServiceSummary[] = [];
  for (const [service, m] of byService) {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    out.push({
      service, connections: total,
      realServers: [...m].map(([dest, n]) => ({ dest, connections: n, share: total === 0 ? 0 : n / total })),
    });
  }
  return out;
}

export function formatSummary(s: readonly ServiceSummary[]): string {
  let text = '';
  for (const svc of s) {
    text += `${svc.service}  ${svc.connections} connections\n`;
    for (const rs of svc.realServers) {
      text += `  -> ${rs.dest.padEnd(28)} ${String(rs.connections).padStart(9)} ${(rs.share * 100).toFixed(2).padStart(7)}%\n`;
    }
  }
  return text;
}

export interface MovedFlow {
  readonly line: number;
  readonly protocol: string;
  readonly client: string;
  readonly virtual: string;
  readonly from: string;
  readonly to: string;
}

export interface DiffReport {
  readonly flows: number;
  readonly moved: MovedFlow[];
  readonly movedShare: number;
}

/** Flows (opens, matched by position) whose real server differs between two runs. */
export function diffResults(a: readonly OpenResult[], b: readonly OpenResult[]): DiffReport {
  const moved: MovedFlow[] = [];
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i].dest === b[i].dest) continue;
    moved.push({
      line: a[i].line, protocol: a[i].protocol,
      client: formatEndpoint(a[i].client.addr, a[i].client.port), virtual: formatEndpoint(a[i].vip.addr, a[i].vip.port),
      from: a[i].dest, to: b[i].dest,
    });
  }
  return { flows: n, moved, movedShare: n === 0 ? 0 : moved.length / n };
}

export function formatDiff(d: DiffReport, listFlows: boolean): string {
  let text = `flows: ${d.flows}  moved: ${d.moved.length} (${(d.movedShare * 100).toFixed(2)}%)\n`;
  if (listFlows) {
    for (const m of d.moved) text += `${m.protocol} ${m.client} -> ${m.virtual}: ${m.from} -> ${m.to}\n`;
  }
  return text;
}
