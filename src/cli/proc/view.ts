// The /proc/net/ip_vs* files as the kernel writes them (spec §5.5, §8), served by the daemon so that
// tools written for /proc/net/ip_vs (node_exporter's collector, scripts) can read tsvs's state.
import type { Ipvs } from '../../core/conn/ipvs.js';
import type { Director } from '../../control/director.js';
import { isOneOf } from '../../control/config/schema-values.js';
import type { ControlReply } from '../../control/control-socket.js';
import { type ConnEntryView, formatProcIpVs, formatProcIpVsConn, formatProcIpVsConnSync, formatProcIpVsStats } from '../ipvsadm/index.js';
import { connEntryView } from '../tsvsadm/exec.js';

/** The view names `tsvs proc` accepts. */
export const PROC_VIEWS = ['ip_vs', 'ip_vs_stats', 'ip_vs_conn', 'ip_vs_conn_sync'] as const;

/**
 * `connEntries` overrides where connection entries come from (the packet plane's workers);
 * by default they are read from `ipvs`.
 */
export function procView(argv: readonly string[], director: Director, ipvs: Ipvs, connEntries?: ConnEntryView[]): ControlReply {
  const [name, ...rest] = argv;
  if (rest.length > 0 || !isOneOf(PROC_VIEWS, name)) {
    return { stdout: '', stderr: `tsvs proc: expected one of ${PROC_VIEWS.join(', ')}\n`, exitCode: 2 };
  }
  const table = director.table;
  const entries = () => connEntries ?? [...ipvs.conns.entries()].map(connEntryView);
  switch (name) {
    case 'ip_vs': return ok(formatProcIpVs(table.services()));
    case 'ip_vs_stats': return ok(formatProcIpVsStats(table.totals.snapshot(), table.totals.rates()));
    case 'ip_vs_conn': return ok(formatProcIpVsConn(entries()));
    default: return ok(formatProcIpVsConnSync(entries()));
  }
}

function ok(stdout: string): ControlReply {
  return { stdout, stderr: '', exitCode: 0 };
}
