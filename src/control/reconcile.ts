// Desired state -> table operations. The diff touches only what changed, so unchanged services and
// real servers keep their connections and scheduler state across a reload.
import { serviceKeyString, destKeyString } from '../core/service/keys.js';
import type { ServiceTable } from '../core/service/service-table.js';
import type { DestConfig, ServiceConfig } from '../core/service/types.js';
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
    const wantDests = new Map(want.dests.map((d) => [destKeyString(d.addr, d.port), d]));
    for (const d of live.destinations) {
      if (!wantDests.has(destKeyString(d.addr, d.port))) deletes.push({ op: 'delete-dest', key: live.key, addr: d.addr, port: d.port });
    }
    for (const d of [...want.dests].reverse()) {
      const cur = table.findDest(live, d.addr, d.port);
      if (!cur) adds.push({ op: 'add-dest', key: live.key, dest: d });
      else if (!sameDest(cur.config(), d)) edits.push({ op: 'edit-dest', key: live.key, dest: d });
    }
  }
  return [...deletes, ...edits, ...adds];
}

function sameService(a: ServiceConfig, b: ServiceConfig): boolean {
  return a.scheduler === b.scheduler && a.flags === b.flags && a.timeoutS === b.timeoutS && a.netmask === b.netmask && a.pe === b.pe;
}

function sameDest(a: DestConfig, b: DestConfig): boolean {
  return ipEquals(a.addr, b.addr) && a.port === b.port && a.method === b.method && a.weight === b.weight &&
    a.uThreshold === b.uThreshold && a.lThreshold === b.lThreshold && a.tunType === b.tunType &&
    a.tunPort === b.tunPort && a.tunCsum === b.tunCsum;
}
