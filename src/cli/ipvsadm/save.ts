// `ipvsadm -S` / `-S -n` (list_all with FMT_RULE; spec §5.7): the table as `-R` input, sorted like
// the listing, without header lines. Thresholds are not saved (ipvsadm does not save them either).
import { SVC_F_ONEPACKET, SVC_F_SCHED_MASK } from '../../core/service/types.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import { cInt, cUint } from './cstr.js';
import { type NameOptions, destName, fwdSwitch, maskText, schedFlagsText, serviceName } from './names.js';
import { NUMERIC_RESOLVER, type NameResolver } from './resolver.js';
import { listDestOrder, listServiceOrder } from './sort.js';

/** Options of -S: -n, and the resolver names come from without it. */
export interface SaveOptions {
  readonly numeric: boolean;
  readonly resolver?: NameResolver;
}

/** The -S lines of one service and its destinations. */
export function saveService(svc: VirtualService, opts: SaveOptions): string {
  const names: NameOptions = { numeric: opts.numeric, resolver: opts.resolver ?? NUMERIC_RESOLVER };
  const sn = serviceName(svc, true, names);
  let line = `-A ${sn} -s ${svc.scheduler}`;
  if (svc.isPersistent) {
    line += ` -p ${cUint(svc.timeoutS)}`;
    const mask = maskText(svc);
    if (mask !== undefined) line += ` -M ${mask}`;
  }
  if (svc.pe) line += ` --pe ${svc.pe}`;
  if (svc.flags & SVC_F_ONEPACKET) line += ' -o';
  if (svc.flags & SVC_F_SCHED_MASK) line += ` -b ${schedFlagsText(svc)}`;
  let out = line + '\n';
  for (const d of listDestOrder(svc, false)) {
    const head = `-a ${sn} -r ${destName(svc, d, true, names)} ${fwdSwitch(d.method)} -w ${cInt(d.weight)}`;
    if (d.method !== 'tunnel') out += head + '\n';
    else if (d.tunType === 'gue') out += `${head} --tun-type gue --tun-port ${d.tunPort} --tun-${d.tunCsum}\n`;
    else if (d.tunType === 'gre') out += `${head} --tun-type gre --tun-${d.tunCsum}\n`;
    else out += `${head} --tun-type ipip\n`;
  }
  return out;
}

/** `ipvsadm -S [-n]` for a whole table (services as ServiceTable.services() gives them). */
export function formatSave(services: readonly VirtualService[], opts: SaveOptions): string {
  return listServiceOrder(services, false).map((s) => saveService(s, opts)).join('');
}
