// The ipvsadm compatibility layer: command-line grammar, restore streams, error texts and every
// output format, for tsvsadm, `tsvs simulate` and the daemon.
export type { Command, DaemonConfig, ListOptions, ParseResult, UsageError } from './command.js';
export { type Errno, EXIT_FAILURE, EXIT_LIST_ERROR, EXIT_USAGE, type IpvsOp, ipvsStrerror, usageErrorText } from './errors.js';
export { formatConnections, type ConnListOptions } from './format-conns.js';
export {
  DEFAULT_CONN_TAB_SIZE, type ListContext, type ListFormat, formatList, formatListService, listTitle, serviceEntry, versionLine,
} from './format-list.js';
export { IPVSADM_VERSION, formatDaemons, formatTimeout, formatUsage, formatVersion, type UsageOptions } from './format-misc.js';
export { type ParseOptions, parseArgs } from './parse.js';
export {
  DEFAULT_HZ, type ProcIpVsOptions, formatProcIpVs, formatProcIpVsConn, formatProcIpVsConnSync, formatProcIpVsStats,
} from './proc.js';
export { NUMERIC_RESOLVER, type NameProto, type NameResolver } from './resolver.js';
export { type RestoreEntry, parseRestore, restoreWords } from './restore.js';
export { type SaveOptions, formatSave, saveService } from './save.js';
export { cmpDests, cmpServices, kernelServiceOrder, listDestOrder, listServiceOrder } from './sort.js';
export type { ConnEntryView, Rates, RatesView, SyncDaemonView, Timeouts } from './views.js';
export { ZERO_RATES } from './views.js';
