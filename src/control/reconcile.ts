// Desired state -> table operations. The diff touches only what changed, so unchanged services and
// real servers keep their connections and scheduler state across a reload.
import { serviceKeyString, destKeyString } from '../core/service/keys.js';
import type { ServiceTable } from '../core/service/service-table.js';
import type { DestConfig, ServiceConfig, ServiceKey } from '../core/service/types.js';
import { ipEquals } from '../core/net/addr.js';
import type { DesiredService, TableOp } from './director-api.js';

/** The operations that turn `table` into `desired`: deletions first, then edits, then additions. */
export function diffDesired(table: ServiceTable, desired: readonly DesiredService[]): TableOp[] {
  const deletes: TableOp[] = [];
  const edits: TableOp[] = [];
  const adds: TableOp[] = [];
  const wanted = new Map(desired.map((d) => [serviceKeyString(d.service.key), d]));
  for (const svc of table.services()) {
    if (!wanted.has(serviceKeyString(svc.key))) deletes.push({ op: 'delete-service', key: svc.key });
  }
  for (const want of desired) {
    const live = table.getService(want.service.key);
    if (!live) {
      adds.push({ op: 'add-service', service: want.service });
      // -a puts each new destination at the head: add in reverse so the list reads in config order.
      for (const d of [...want.dests].reverse()) adds.push({ op: 'add-dest', key: want.service.key, dest: d });
      continue;
    }
    if (!sameService(live.config(), want.service)) edits.push({ op: 'edit-service', service: want.service });
    const d = diffDests(live.key, live.destinations.map((x) => x.config()), want.dests);
    deletes.push(...d.deletes);
    edits.push(...d.edits);
    adds.push(...d.adds);
  }
  return [...deletes, ...edits, ...adds];
}

/**
 * The destination operations that turn `have` into `want` for one service: deletions, edits, and
 * additions in reverse so that the list reads in `want`'s order (each -a goes to the head).
 */
export function diffDests(key: ServiceKey, have: readonly DestConfig[], want: readonly DestConfig[]): { deletes: TableOp[]; edits: TableOp[]; adds: TableOp[] } {
  const deletes: TableOp[] = [];
  const edits: TableOp[] = [];
  const adds: TableOp[] = [];
  const wantKeys = new Set(want.map((d) => destKeyString(d.addr, d.port)));
  const haveByKey = new Map(have.map((d) => [destKeyString(d.addr, d.port), d]));
  for (const d of have) if (!wantKeys.has(destKeyString(d.addr, d.port))) deletes.push({ op: 'delete-dest', key, addr: d.addr, port: d.port });
  for (const d of [...want].reverse()) {
    const cur = haveByKey.get(destKeyString(d.addr, d.port));
    if (!cur) adds.push({ op: 'add-dest', key, dest: d });
    else if (!sameDest(cur, d)) edits.push({ op: 'edit-dest', key, dest: d });
  }
  return { deletes, edits, adds };
}

/**
 * What changed between two desired states, per service present in both, as destination
 * operations only: what health checks do to the table (spec §7.2 — add, remove or re-weight one
 * real server), leaving everything else, including runtime changes made with tsvsadm or REST, alone.
 */
export function diffDestsOnly(prev: readonly DesiredService[], next: readonly DesiredService[]): TableOp[][] {
  const before = new Map(prev.map((d) => [serviceKeyString(d.service.key), d]));
  const out: TableOp[][] = [];
  for (const n of next) {
    const p = before.get(serviceKeyString(n.service.key));
    if (!p) continue;
    const d = diffDests(n.service.key, p.dests, n.dests);
    const ops = [...d.deletes, ...d.edits, ...d.adds];
    if (ops.length > 0) out.push(ops);
  }
  return out;
}

function sameService(a: ServiceConfig, b: ServiceConfig): boolean {
  return a.scheduler === b.scheduler && a.flags === b.flags && a.timeoutS === b.timeoutS && a.netmask === b.netmask && a.pe === b.pe;
}

function sameDest(a: DestConfig, b: DestConfig): boolean {
  return ipEquals(a.addr, b.addr) && a.port === b.port && a.method === b.method && a.weight === b.weight &&
    a.uThreshold === b.uThreshold && a.lThreshold === b.lThreshold && a.tunType === b.tunType &&
    a.tunPort === b.tunPort && a.tunCsum === b.tunCsum;
}
