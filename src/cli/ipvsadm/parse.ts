// ipvsadm's command line → a typed Command, or the exact usage error ipvsadm prints (spec §5.1,
// §5.2). Follows ipvsadm.c's parse_options/process_options step by step, in the same order, so that
// the first error found is the one ipvsadm reports: the first word must be a command; options are
// taken in argv order (later ones see what earlier ones set); then --set's values, leftovers and -b;
// then the commands_v_options table; then the per-command checks and defaults.
import type { IpAddress } from '../../core/net/addr.js';
import {
  type DestConfig, type ForwardMethod, type Protocol, type ServiceKey, type TunnelCsum,
  SVC_F_ONEPACKET, SVC_F_PERSISTENT, SVC_F_SCHED_MASK,
} from '../../core/service/types.js';
import type { Command, ParseResult, UsageError } from './command.js';
import { stringToNumber, atoi } from './cstr.js';
import {
  COMMAND_TAGS, COMMANDS_V_OPTIONS, type CmdName, DEF_MCAST_IFN, DEF_SCHED, MAX_TIMEOUT, OPT_NAMES, OPTION_TABLE,
  type OptName, TUN_NAMES, TUN_OPTS, TUNNEL_TYPES_V_OPTIONS,
} from './options.js';
import {
  UsageFail, parseFwmark, parseMcastGroup, parseNetmask, parseSchedFlags, parseService, parseTimeout,
} from './parse-values.js';
import { PoptScanner } from './popt.js';
import { NUMERIC_RESOLVER, type NameResolver } from './resolver.js';

/** Parser settings. */
export interface ParseOptions {
  /** Resolves host and service names in addresses (default: numbers only). */
  readonly resolver?: NameResolver;
  /** True for a line read by `-R` (reading_stdin): a nested -R is refused like ipvsadm does. */
  readonly inRestore?: boolean;
}

const TRYHELP: UsageError = { kind: 'tryhelp', message: '', exitCode: 255 };

/** tryhelp_exit: "Try `ipvsadm -h' ...", exit 255. */
class TryHelp extends Error {}
const INT_MAX = 2147483647;
const TUN_CSUM_BITS: Record<string, number> = { 'tun-nocsum': 0, 'tun-csum': 1, 'tun-remcsum': 2 };
const TUN_CSUM_NAMES: readonly TunnelCsum[] = ['nocsum', 'csum', 'remcsum'];

/** The working state of one command line (ipvsadm's struct ipvs_command_entry). */
interface Entry {
  cmd: CmdName | undefined;
  svc: {
    family: 4 | 6 | 0; protocol: Protocol | undefined; addr: IpAddress | undefined; port: number; fwmark: number;
    sched: string; flags: number; timeout: number; netmask: number; pe: string;
  };
  dest: {
    family: 4 | 6 | 0; addr: IpAddress | undefined; port: number; method: ForwardMethod; weight: number;
    u: number; l: number; tunType: number; tunPort: number; tunFlags: number;
  };
  daemon: { state: 'master' | 'backup'; ifn: string; syncId: number; maxlen?: number; group?: IpAddress; port?: number; ttl?: number };
  options: Set<OptName>;
}

function newEntry(): Entry {
  return {
    cmd: undefined,
    svc: { family: 0, protocol: undefined, addr: undefined, port: 0, fwmark: 0, sched: '', flags: 0, timeout: 0, netmask: 0xffffffff, pe: '' },
    dest: { family: 0, addr: undefined, port: 0, method: 'droute', weight: 1, u: 0, l: 0, tunType: 0, tunPort: 0, tunFlags: 0 },
    daemon: { state: 'master', ifn: '', syncId: 0 },
    options: new Set(),
  };
}

function setOption(ce: Entry, name: OptName): void {
  if (ce.options.has(name)) throw new UsageFail(`multiple '${name}' options specified`);
  ce.options.add(name);
}

function numberOr(text: string, min: number, max: number, message: string): number {
  const v = stringToNumber(text, min, max);
  if (v === -1) throw new UsageFail(message);
  return v;
}

/** Applies one option of the argument loop (the `while (poptGetNextOpt)` switch of ipvsadm.c). */
function applyOption(ce: Entry, tag: string, arg: string | undefined, badOption: string, resolver: NameResolver): void {
  const a = arg ?? '';
  switch (tag) {
    case 't': case 'u': case 'sctp-service': {
      setOption(ce, 'service-address');
      ce.svc.protocol = tag === 't' ? 'tcp' : tag === 'u' ? 'udp' : 'sctp';
      const p = parseService(a, ce.svc.protocol, resolver);
      if (!p) throw new UsageFail('illegal virtual server address[:port] specified');
      ce.svc.addr = p.addr;
      ce.svc.family = p.addr.family;
      if (p.addr.family === 6) ce.svc.netmask = 128;
      if (p.port !== undefined) ce.svc.port = p.port;
      return;
    }
    case 'f':
      setOption(ce, 'service-address');
      ce.svc.family = 4;
      ce.svc.protocol = 'tcp';
      ce.svc.fwmark = parseFwmark(a);
      return;
    case 's': setOption(ce, 'scheduler'); ce.svc.sched = a.slice(0, 15); return;
    case 'p':
      setOption(ce, 'persistent');
      ce.svc.flags |= SVC_F_PERSISTENT;
      ce.svc.timeout = parseTimeout(arg, 1, MAX_TIMEOUT);
      return;
    case 'M':
      setOption(ce, 'netmask');
      if (ce.svc.family !== 6) {
        const m = parseNetmask(a, resolver);
        if (m === undefined) throw new UsageFail('illegal virtual server persistent mask specified');
        ce.svc.netmask = m;
      } else {
        ce.svc.netmask = atoi(a);
        if (ce.svc.netmask < 1 || ce.svc.netmask > 128) throw new UsageFail('illegal ipv6 netmask specified');
      }
      return;
    case 'r': {
      setOption(ce, 'real-server');
      const p = parseService(a, ce.svc.protocol, resolver);
      if (!p) throw new UsageFail('illegal real server address[:port] specified');
      ce.dest.addr = p.addr;
      ce.dest.family = p.addr.family;
      // No port given: the service's port as known at this point of the command line.
      ce.dest.port = p.port ?? ce.svc.port;
      return;
    }
    case 'i': setOption(ce, 'forwarding-method'); ce.dest.method = 'tunnel'; return;
    case 'g': setOption(ce, 'forwarding-method'); ce.dest.method = 'droute'; return;
    case 'm': setOption(ce, 'forwarding-method'); ce.dest.method = 'masq'; return;
    // tsvs extension: full NAT, tsvs's own method (spec §3); only reachable through --fullnat.
    case 'fullnat': setOption(ce, 'forwarding-method'); ce.dest.method = 'fullnat'; return;
    case 'w': setOption(ce, 'weight'); ce.dest.weight = numberOr(a, 0, 65535, 'illegal weight specified'); return;
    case 'x': setOption(ce, 'u-threshold'); ce.dest.u = numberOr(a, 0, INT_MAX, 'illegal u_threshold specified'); return;
    case 'y': setOption(ce, 'l-threshold'); ce.dest.l = numberOr(a, 0, INT_MAX, 'illegal l_threshold specified'); return;
    case 'c': setOption(ce, 'connection'); return;
    case 'n': setOption(ce, 'numeric'); return;
    case 'mcast-interface': setOption(ce, 'mcast-interface'); ce.daemon.ifn = a.slice(0, 15); return;
    case 'syncid': setOption(ce, 'syncid'); ce.daemon.syncId = numberOr(a, 0, 255, 'illegal syncid specified'); return;
    case 'timeout': case 'daemon': case 'stats': case 'rate': case 'thresholds': case 'persistent-conn':
    case 'nosort': case 'tun-info':
      setOption(ce, tag);
      return;
    case 'sort': return; // the default; accepted for compatibility
    case 'X': setOption(ce, 'exact'); return;
    case '6':
      if (!ce.svc.fwmark) throw new UsageFail('-6 used before -f\n');
      ce.svc.family = 6;
      ce.svc.netmask = 128;
      return;
    case 'o': setOption(ce, 'ops'); ce.svc.flags |= SVC_F_ONEPACKET; return;
    case 'pe': setOption(ce, 'pe'); ce.svc.pe = a.slice(0, 16); return;
    case 'mcast-group': setOption(ce, 'mcast-group'); ce.daemon.group = parseMcastGroup(a); return;
    case 'mcast-port': setOption(ce, 'mcast-port'); ce.daemon.port = numberOr(a, 1, 65535, 'illegal mcast-port specified'); return;
    case 'mcast-ttl': setOption(ce, 'mcast-ttl'); ce.daemon.ttl = numberOr(a, 1, 255, 'illegal mcast-ttl specified'); return;
    case 'sync-maxlen':
      setOption(ce, 'sync-maxlen');
      ce.daemon.maxlen = numberOr(a, 1, 65535 - 20 - 8, 'illegal sync-maxlen specified');
      return;
    case 'tun-type': {
      setOption(ce, 'tun-type');
      const t = (TUN_NAMES as readonly string[]).indexOf(a);
      if (t === -1) throw new UsageFail('illegal tunnel type specified');
      ce.dest.tunType = t;
      return;
    }
    case 'tun-port': setOption(ce, 'tun-port'); ce.dest.tunPort = numberOr(a, 1, 65535, 'illegal tunnel port specified'); return;
    case 'tun-nocsum': case 'tun-csum': case 'tun-remcsum':
      setOption(ce, tag);
      ce.dest.tunFlags |= TUN_CSUM_BITS[tag];
      return;
    default:
      // A second command, -h or -v after the command: popt names the last word it consumed.
      throw new UsageFail(`invalid option \`${badOption}'`);
  }
}

/** generic_opt_check: the commands_v_options table, scanned in option order. */
function genericOptCheck(cmd: CmdName, options: Set<OptName>): void {
  const row = COMMANDS_V_OPTIONS[cmd];
  let last: OptName | undefined;
  for (let j = 0; j < OPT_NAMES.length; j++) {
    const name = OPT_NAMES[j];
    if (!options.has(name)) {
      if (row[j] === '+') throw new UsageFail(`You need to supply the '${name}' option for the '${cmd}' command`);
      continue;
    }
    if (row[j] === 'x') throw new UsageFail(`Illegal '${name}' option with the '${cmd}' command`);
    if (row[j] === '1') {
      if (last === undefined) { last = name; continue; }
      throw new UsageFail(`The option '${name}' conflicts with the '${last}' option in the '${cmd}' command`);
    }
  }
}

/** tunnel_opt_check: the tunnel_types_v_options table for the chosen tunnel type. */
function tunnelOptCheck(tunType: number, options: Set<OptName>): void {
  const tname = TUN_NAMES[tunType];
  const row = TUNNEL_TYPES_V_OPTIONS[tname];
  let last: OptName | undefined;
  TUN_OPTS.forEach((name, j) => {
    if (!options.has(name)) {
      if (row[j] === '+') throw new UsageFail(`You need to supply the '${name}' option for the '${tname}' tunnel type`);
      return;
    }
    if (row[j] === 'x') throw new UsageFail(`Illegal '${name}' option with the '${tname}' tunnel type`);
    if (row[j] === '1') {
      if (last === undefined) { last = name; return; }
      throw new UsageFail(`The option '${name}' conflicts with the '${last}' option in the '${tname}' tunnel type`);
    }
  });
}

function serviceKey(ce: Entry): ServiceKey | undefined {
  const s = ce.svc;
  if (s.fwmark) return { kind: 'fwmark', fwmark: s.fwmark, family: s.family === 6 ? 6 : 4 };
  if (!s.addr || !s.protocol) return undefined;
  return { kind: 'addr', protocol: s.protocol, addr: s.addr, port: s.port };
}

/** The per-command checks, defaults and the resulting Command (process_options after parsing). */
function finish(ce: Entry, cmd: CmdName, inRestore: boolean): Command {
  genericOptCheck(cmd, ce.options);
  const o = ce.options;
  const s = ce.svc;
  if (cmd === 'add-service' || cmd === 'edit-service') {
    if (!s.fwmark && !s.port && !(s.flags & SVC_F_PERSISTENT)) throw new UsageFail('Zero port specified for non-persistent service');
    if (s.flags & SVC_F_ONEPACKET && !s.fwmark && s.protocol !== 'udp') {
      throw new UsageFail('One-Packet Scheduling is only for UDP virtual services');
    }
  }
  const d = ce.dest;
  if (cmd === 'add-server' || cmd === 'edit-server') {
    // DR and TUN cannot change the port: it is forced to the service port (fwmark: left as given).
    if (!s.fwmark && (d.method === 'tunnel' || d.method === 'droute')) d.port = s.port;
    if (d.family !== s.family && d.method !== 'tunnel') throw new UsageFail('Different address family is allowed only for tunneling servers');
    const tunOpts: OptName[] = ['tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
    if (tunOpts.some((n) => o.has(n)) && d.method !== 'tunnel') throw new UsageFail('Tunnel options conflict with forward method');
    tunnelOptCheck(d.tunType, o);
  }
  const key = serviceKey(ce);
  switch (cmd) {
    case 'add-service': case 'edit-service':
      return {
        kind: cmd,
        service: { key: key!, scheduler: s.sched || DEF_SCHED, flags: s.flags, timeoutS: s.timeout, netmask: s.netmask, pe: s.pe || undefined },
      };
    case 'delete-service': return { kind: cmd, key: key! };
    case 'flush': return { kind: cmd };
    case 'zero': return key ? { kind: cmd, key } : { kind: cmd };
    case 'add-server': case 'edit-server': {
      const dest: DestConfig = {
        addr: d.addr!, port: d.port, method: d.method, weight: d.weight, uThreshold: d.u, lThreshold: d.l,
        tunType: TUN_NAMES[d.tunType], tunPort: d.tunPort, tunCsum: TUN_CSUM_NAMES[d.tunFlags] ?? 'nocsum',
      };
      return { kind: cmd, key: key!, dest };
    }
    case 'delete-server': return { kind: cmd, key: key!, addr: d.addr!, port: d.port };
    case 'list': {
      if ((['connection', 'timeout', 'daemon'] as const).some((n) => o.has(n)) && (['stats', 'rate', 'thresholds'] as const).some((n) => o.has(n))) {
        throw new UsageFail('options conflicts in the list command');
      }
      if ((o.has('timeout') || o.has('daemon')) && o.has('persistent-conn')) throw new UsageFail('options conflicts in the list command');
      const view = o.has('connection') ? 'connections' : o.has('service-address') ? 'services' : o.has('timeout') ? 'timeout' : o.has('daemon') ? 'daemon' : 'services';
      return {
        kind: cmd,
        list: {
          view, ...(view === 'services' && key ? { service: key } : {}),
          numeric: o.has('numeric'), exact: o.has('exact'), nosort: o.has('nosort'), stats: o.has('stats'), rate: o.has('rate'),
          thresholds: o.has('thresholds'), persistentConn: o.has('persistent-conn'), tunInfo: o.has('tun-info'),
        },
      };
    }
    case 'save': return { kind: cmd, numeric: o.has('numeric') };
    case 'restore':
      // restore_table refuses to nest: "avoid infinite loop".
      if (inRestore) throw new TryHelp();
      return { kind: cmd };
    case 'set': throw new Error('unreachable: --set is built by the caller');
    case 'start-daemon': {
      const dm = ce.daemon;
      return {
        kind: cmd,
        daemon: {
          state: dm.state, mcastIfn: dm.ifn || DEF_MCAST_IFN, syncId: dm.syncId,
          ...(dm.maxlen !== undefined ? { syncMaxlen: dm.maxlen } : {}), ...(dm.group ? { mcastGroup: dm.group } : {}),
          ...(dm.port !== undefined ? { mcastPort: dm.port } : {}), ...(dm.ttl !== undefined ? { mcastTtl: dm.ttl } : {}),
        },
      };
    }
    case 'stop-daemon': return { kind: cmd, state: ce.daemon.state };
  }
}

/**
 * Parses an ipvsadm command line (without the program name). An empty argv is `-L` without -n,
 * as ipvsadm lists the table when run without arguments.
 */
export function parseArgs(args: readonly string[], opts: ParseOptions = {}): ParseResult {
  const resolver = opts.resolver ?? NUMERIC_RESOLVER;
  if (args.length === 0) {
    return { ok: true, command: { kind: 'list', list: { view: 'services', numeric: false, exact: false, nosort: false, stats: false, rate: false, thresholds: false, persistentConn: false, tunInfo: false } } };
  }
  const ce = newEntry();
  const scan = new PoptScanner(args, OPTION_TABLE);
  try {
    const first = scan.next();
    if (first.kind !== 'opt') return { ok: false, error: TRYHELP };
    const c = COMMAND_TAGS[first.spec.tag];
    if (c === undefined) return { ok: false, error: TRYHELP };
    if (c === 'help' || c === 'version') return { ok: true, command: { kind: c } };
    ce.cmd = c;
    if (c === 'start-daemon' || c === 'stop-daemon') {
      if (first.arg === 'master' || first.arg === 'backup') ce.daemon.state = first.arg;
      else throw new UsageFail(c === 'start-daemon' ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified');
    }
    let schedFlagsArg = '';
    for (;;) {
      const ev = scan.next();
      if (ev.kind === 'end') break;
      if (ev.kind === 'error') return { ok: false, error: { kind: 'popt', message: `${ev.badOption}: ${ev.text}`, exitCode: 255 } };
      if (ev.spec.tag === 'b') {
        setOption(ce, 'sched-flags');
        schedFlagsArg = (ev.arg ?? '').slice(0, 127);
        continue;
      }
      applyOption(ce, ev.spec.tag, ev.arg, ev.badOption, resolver);
    }
    const rest = scan.leftovers();
    let timeouts: [number, number, number] | undefined;
    if (c === 'set') {
      if (rest.length < 3) throw new UsageFail('--set option requires 3 timeout values');
      timeouts = [0, 1, 2].map((i) => parseTimeout(rest[i], 0, MAX_TIMEOUT)) as [number, number, number];
      rest.splice(0, 3);
    }
    if (rest.length > 0) throw new UsageFail(`unexpected argument ${rest[0]}`);
    if (schedFlagsArg !== '') ce.svc.flags = (ce.svc.flags & ~SVC_F_SCHED_MASK) | parseSchedFlags(ce.svc.sched, schedFlagsArg);
    if (c === 'set') {
      genericOptCheck(c, ce.options);
      const [tcp, tcpfin, udp] = timeouts!;
      return { ok: true, command: { kind: 'set', timeouts: { tcp, tcpfin, udp } } };
    }
    return { ok: true, command: finish(ce, c, opts.inRestore ?? false) };
  } catch (e) {
    if (e instanceof UsageFail) return { ok: false, error: { kind: 'fail', message: e.message, exitCode: 2 } };
    if (e instanceof TryHelp) return { ok: false, error: TRYHELP };
    throw e;
  }
}
