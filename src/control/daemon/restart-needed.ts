// Settings a reload cannot change in a running daemon (they are read at start): the daemon says
// which ones a reload changed, once per reload, instead of ignoring them silently.
import type { Config } from '../config/schema.js';
import { PROXY_RELOADED } from './dataplanes.js';

/** The names of the start-only settings that differ between `cur` and `next`. */
export function restartNeeded(cur: Config, next: Config): string[] {
  const reloaded: ReadonlySet<string> = new Set(PROXY_RELOADED);
  const fixed: Array<[string, unknown, unknown]> = [
    ['dataplane.kind', cur.dataplane.kind, next.dataplane.kind],
    ['dataplane.interfaces', cur.dataplane.interfaces, next.dataplane.interfaces],
    ['dataplane.maxConnections', cur.dataplane.maxConnections, next.dataplane.maxConnections],
    ['dataplane.fullnat', cur.dataplane.fullnat, next.dataplane.fullnat],
    ['dataplane.packet', cur.dataplane.packet, next.dataplane.packet],
    ...(Object.keys(next.dataplane.proxy) as (keyof Config['dataplane']['proxy'])[])
      .filter((k) => !reloaded.has(k))
      .map((k): [string, unknown, unknown] => [`dataplane.proxy.${k}`, cur.dataplane.proxy[k], next.dataplane.proxy[k]]),
    ['control', cur.control, next.control],
    ['api', cur.api, next.api],
    ['metrics', cur.metrics, next.metrics],
    ['sysctl.lblc_expiration', cur.sysctl.lblc_expiration, next.sysctl.lblc_expiration],
    ['sysctl.lblcr_expiration', cur.sysctl.lblcr_expiration, next.sysctl.lblcr_expiration],
  ];
  return fixed.filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b)).map(([name]) => name);
}
