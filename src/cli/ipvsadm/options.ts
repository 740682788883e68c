// ipvsadm's grammar as data (ipvsadm.c 1.30 + the 1.31 GRE patch, spec §5.1/§5.2): the popt option
// table, the option and command names used in messages, and the two legality tables
// (commands_v_options, tunnel_types_v_options). Parsing logic lives in parse.ts.

/** Commands, in ipvsadm's CMD_* order (index = CMD_x - 1); the names appear in usage errors. */
export const CMD_NAMES = [
  'add-service', 'edit-service', 'delete-service', 'flush', 'list', 'add-server', 'delete-server',
  'edit-server', 'set', 'start-daemon', 'stop-daemon', 'restore', 'save', 'zero',
] as const;
export type CmdName = (typeof CMD_NAMES)[number];

/** Option classes (OPTC_*), in bit order; the names appear in usage errors. */
export const OPT_NAMES = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask', 'real-server',
  'forwarding-method', 'weight', 'u-threshold', 'l-threshold', 'mcast-interface', 'timeout', 'daemon',
  'stats', 'rate', 'thresholds', 'persistent-conn', 'nosort', 'syncid', 'exact', 'ops', 'pe',
  'sched-flags', 'mcast-group', 'mcast-port', 'mcast-ttl', 'sync-maxlen', 'tun-info', 'tun-type',
  'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum',
] as const;
export type OptName = (typeof OPT_NAMES)[number];

/**
 * commands_v_options, one string per command (CMD_NAMES order), one character per option class
 * (OPT_NAMES order): '+' compulsory, 'x' illegal, '1' at most one of the '1' options, ' ' optional.
 * Columns: -n -c svc -s -p -M -r fwd -w -x -y mc tot dmn st rt thr pc srt sid ex ops pe -b grp port
 * ttl size tinf type tprt nocs csum remc.
 */
export const COMMANDS_V_OPTIONS: Readonly<Record<CmdName, string>> = {
  'add-service': 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx',
  'edit-service': 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx',
  'delete-service': 'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'flush': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'list': ' 11xxxxxxxxx11       xxxxxxx xxxxx',
  'add-server': 'xx+xxx+    xxxxxxxxxxxxxxxxxx     ',
  'delete-server': 'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'edit-server': 'xx+xxx+    xxxxxxxxxxxxxxxxxx     ',
  'set': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'start-daemon': 'xxxxxxxxxxx xxxxxxx xxxx    xxxxxx',
  'stop-daemon': 'xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx',
  'restore': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'save': ' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'zero': 'xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
};

/** Tunnel types in IP_VS_CONN_F_TUNNEL_TYPE_* order (ipip 0, gue 1, gre 2). */
export const TUN_NAMES = ['ipip', 'gue', 'gre'] as const;

/** The option classes tunnel_types_v_options has columns for. */
export const TUN_OPTS: readonly OptName[] = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];

/** tunnel_types_v_options: per tunnel type, one character per TUN_OPTS entry (same key as above). */
export const TUNNEL_TYPES_V_OPTIONS: Readonly<Record<(typeof TUN_NAMES)[number], string>> = {
  ipip: 'xxxx',
  gue: '+111',
  gre: 'x11x',
};

/** How an option takes its argument (popt's POPT_ARG_NONE / POPT_ARG_STRING / ARGFLAG_OPTIONAL). */
export type ArgKind = 'none' | 'required' | 'optional';

/** One entry of the popt option table. `tag` is what the parser switches on. */
export interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  readonly arg: ArgKind;
  readonly tag: string;
}

/**
 * The popt table of ipvsadm 1.31, in its order, plus `--fullnat`: a tsvs extension selecting tsvs's
 * own full-NAT forwarding method. It has no short form, so ipvsadm's own command lines (which
 * never contain it) parse and behave exactly as with ipvsadm.
 */
export const OPTION_TABLE: readonly OptionSpec[] = [
  { long: 'add-service', short: 'A', arg: 'none', tag: 'A' },
  { long: 'edit-service', short: 'E', arg: 'none', tag: 'E' },
  { long: 'delete-service', short: 'D', arg: 'none', tag: 'D' },
  { long: 'clear', short: 'C', arg: 'none', tag: 'C' },
  { long: 'list', short: 'L', arg: 'none', tag: 'L' },
  { long: 'list', short: 'l', arg: 'none', tag: 'l' },
  { long: 'zero', short: 'Z', arg: 'none', tag: 'Z' },
  { long: 'add-server', short: 'a', arg: 'none', tag: 'a' },
  { long: 'edit-server', short: 'e', arg: 'none', tag: 'e' },
  { long: 'delete-server', short: 'd', arg: 'none', tag: 'd' },
  { long: 'set', arg: 'none', tag: 'set' },
  { long: 'help', short: 'h', arg: 'none', tag: 'h' },
  { long: 'version', short: 'v', arg: 'none', tag: 'v' },
  { long: 'restore', short: 'R', arg: 'none', tag: 'R' },
  { long: 'save', short: 'S', arg: 'none', tag: 'S' },
  { long: 'start-daemon', arg: 'required', tag: 'start-daemon' },
  { long: 'stop-daemon', arg: 'required', tag: 'stop-daemon' },
  { long: 'tcp-service', short: 't', arg: 'required', tag: 't' },
  { long: 'udp-service', short: 'u', arg: 'required', tag: 'u' },
  { long: 'sctp-service', arg: 'required', tag: 'sctp-service' },
  { long: 'fwmark-service', short: 'f', arg: 'required', tag: 'f' },
  { long: 'scheduler', short: 's', arg: 'required', tag: 's' },
  { long: 'persistent', short: 'p', arg: 'optional', tag: 'p' },
  { long: 'netmask', short: 'M', arg: 'required', tag: 'M' },
  { long: 'real-server', short: 'r', arg: 'required', tag: 'r' },
  { long: 'masquerading', short: 'm', arg: 'none', tag: 'm' },
  { long: 'ipip', short: 'i', arg: 'none', tag: 'i' },
  { long: 'gatewaying', short: 'g', arg: 'none', tag: 'g' },
  { long: 'weight', short: 'w', arg: 'required', tag: 'w' },
  { long: 'u-threshold', short: 'x', arg: 'required', tag: 'x' },
  { long: 'l-threshold', short: 'y', arg: 'required', tag: 'y' },
  { long: 'numeric', short: 'n', arg: 'none', tag: 'n' },
  { long: 'connection', short: 'c', arg: 'none', tag: 'c' },
  { long: 'mcast-interface', arg: 'required', tag: 'mcast-interface' },
  { long: 'syncid', arg: 'required', tag: 'syncid' },
  { long: 'timeout', arg: 'none', tag: 'timeout' },
  { long: 'daemon', arg: 'none', tag: 'daemon' },
  { long: 'stats', arg: 'none', tag: 'stats' },
  { long: 'rate', arg: 'none', tag: 'rate' },
  { long: 'thresholds', arg: 'none', tag: 'thresholds' },
  { long: 'persistent-conn', arg: 'none', tag: 'persistent-conn' },
  { long: 'nosort', arg: 'none', tag: 'nosort' },
  { long: 'sort', arg: 'none', tag: 'sort' },
  { long: 'exact', short: 'X', arg: 'none', tag: 'X' },
  { long: 'ipv6', short: '6', arg: 'none', tag: '6' },
  { long: 'ops', short: 'o', arg: 'none', tag: 'o' },
  { long: 'pe', arg: 'required', tag: 'pe' },
  { long: 'sched-flags', short: 'b', arg: 'required', tag: 'b' },
  { long: 'mcast-group', arg: 'required', tag: 'mcast-group' },
  { long: 'mcast-port', arg: 'required', tag: 'mcast-port' },
  { long: 'mcast-ttl', arg: 'required', tag: 'mcast-ttl' },
  { long: 'sync-maxlen', arg: 'required', tag: 'sync-maxlen' },
  { long: 'tun-info', arg: 'none', tag: 'tun-info' },
  { long: 'tun-type', arg: 'required', tag: 'tun-type' },
  { long: 'tun-port', arg: 'required', tag: 'tun-port' },
  { long: 'tun-nocsum', arg: 'none', tag: 'tun-nocsum' },
  { long: 'tun-csum', arg: 'none', tag: 'tun-csum' },
  { long: 'tun-remcsum', arg: 'none', tag: 'tun-remcsum' },
  { long: 'fullnat', arg: 'none', tag: 'fullnat' },
];

/** The tags that select the command; only the first option of a command line may be one. */
export const COMMAND_TAGS: Readonly<Record<string, CmdName | 'help' | 'version'>> = {
  A: 'add-service', E: 'edit-service', D: 'delete-service', C: 'flush', L: 'list', l: 'list',
  Z: 'zero', a: 'add-server', e: 'edit-server', d: 'delete-server', set: 'set', R: 'restore',
  S: 'save', 'start-daemon': 'start-daemon', 'stop-daemon': 'stop-daemon', h: 'help', v: 'version',
};

/** ipvsadm's default scheduler (DEF_SCHED). */
export const DEF_SCHED = 'wlc';
/** ipvsadm's default tunnel type (DEF_TUNNEL_TYPE). */
export const DEF_TUNNEL_TYPE = 'ipip';
/** ipvsadm's default sync daemon interface (DEF_MCAST_IFN). */
export const DEF_MCAST_IFN = 'eth0';
/** Longest timeout ipvsadm accepts (MAX_TIMEOUT, 31 days). */
export const MAX_TIMEOUT = 86400 * 31;
