// Executes one tsvsadm (ipvsadm) command line against a running director: what the daemon does
// with each control-socket request. Output and exit codes are ipvsadm's (spec §5).
import type { Ipvs } from '../../core/conn/ipvs.js';
import type { ConnEntry } from '../../core/conn/conn-view.js';
import type { Destination } from '../../core/service/destination.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import type { Director } from '../../control/director.js';
import { commandToOps } from '../../control/ipvsadm-ops.js';
import type { Command } from '../ipvsadm/command.js';
import {
  EXIT_FAILURE, EXIT_LIST_ERROR, type IpvsOp, type NameResolver, ipvsStrerror,
  formatConnections, formatDaemons, formatList, formatListService, formatSave, formatTimeout,
  formatUsage, formatVersion, parseArgs, parseRestore, usageErrorText, type ConnEntryView, type Errno,
} from '../ipvsadm/index.js';
import type { ControlReply } from '../../control/control-socket.js';

/** What a command needs from the daemon. */
export interface TsvsadmContext {
  readonly director: Director;
  /** The engine's connection layer, when a data plane runs it in this process. */
  readonly ipvs?: Ipvs;
  /** Connection entries for -c when the engine runs elsewhere (packet plane workers). */
  readonly connEntries?: () => ConnEntryView[];
  readonly resolver: NameResolver;
  readonly program?: string;
}

const OP_OF: Partial<Record<Command['kind'], IpvsOp>> = {
  'add-service': 'add-service', 'edit-service': 'edit-service', 'delete-service': 'delete-service',
  flush: 'flush', zero: 'zero', 'add-server': 'add-server', 'edit-server': 'edit-server',
  'delete-server': 'delete-server', set: 'set',
};

/** Runs argv (without the program name); `stdin` feeds -R. */
export function execTsvsadm(argv: readonly string[], ctx: TsvsadmContext, stdin = ''): ControlReply {
  const program = ctx.program ?? 'tsvsadm';
  const parsed = parseArgs(argv, { resolver: ctx.resolver });
  if (!parsed.ok) return { stdout: '', stderr: usageErrorText(parsed.error, program), exitCode: parsed.error.exitCode };
  return execCommand(parsed.command, ctx, stdin);
}

function execCommand(cmd: Command, ctx: TsvsadmContext, stdin: string): ControlReply {
  const program = ctx.program ?? 'tsvsadm';
  const ok = (stdout: string): ControlReply => ({ stdout, stderr: '', exitCode: 0 });
  switch (cmd.kind) {
    case 'help': return ok(formatUsage({ program }));
    case 'version': return ok(formatVersion());
    case 'save': return ok(formatSave(ctx.director.table.services(), { numeric: cmd.numeric, resolver: ctx.resolver }));
    case 'restore': return restore(ctx, stdin);
    case 'start-daemon':
    case 'stop-daemon':
      return { stdout: '', stderr: `${program}: connection synchronization is not available in this tsvs version\n`, exitCode: EXIT_FAILURE };
    case 'list': return list(cmd.list, ctx);
    default: break;
  }
  const ops = commandToOps(cmd);
  if (!ops) return { stdout: '', stderr: `${program}: unsupported command\n`, exitCode: EXIT_FAILURE };
  const res = ctx.director.applyOps(ops, { source: 'tsvsadm' });
  if (res.ok) return ok('');
  const errno = (res.error?.errno ?? 'EINVAL') as Errno;
  return { stdout: '', stderr: `${ipvsStrerror(OP_OF[cmd.kind] ?? 'add-service', errno)}\n`, exitCode: EXIT_FAILURE };
}

function list(l: Extract<Command, { kind: 'list' }>['list'], ctx: TsvsadmContext): ControlReply {
  const table = ctx.director.table;
  const fmt = { numeric: l.numeric, exact: l.exact, nosort: l.nosort, stats: l.stats, rate: l.rate, thresholds: l.thresholds, persistentConn: l.persistentConn, tunInfo: l.tunInfo };
  const lctx = { resolver: ctx.resolver, ratesOf: (o: VirtualService | Destination) => o.stats.rates() };
  switch (l.view) {
    case 'timeout': return { stdout: formatTimeout(ctx.director.timeouts()), stderr: '', exitCode: 0 };
    case 'daemon': return { stdout: formatDaemons([]), stderr: '', exitCode: 0 };
    case 'connections': {
      const entries = ctx.ipvs ? [...ctx.ipvs.conns.entries()].map(connEntryView) : ctx.connEntries?.() ?? [];
      return { stdout: formatConnections(entries, { numeric: l.numeric, persistentConn: l.persistentConn, resolver: ctx.resolver }), stderr: '', exitCode: 0 };
    }
    case 'services': {
      if (l.service) {
        const svc = table.getService(l.service);
        if (!svc) return { stdout: '', stderr: `${ipvsStrerror('get-service', 'ESRCH')}\n`, exitCode: EXIT_LIST_ERROR };
        return { stdout: formatListService(svc, fmt, lctx), stderr: '', exitCode: 0 };
      }
      return { stdout: formatList(table.services(), fmt, lctx), stderr: '', exitCode: 0 };
    }
  }
}

/** ipvsadm -R: a fail/tryhelp error stops; a popt error or a failed operation continues; exit = last line's. */
function restore(ctx: TsvsadmContext, stdin: string): ControlReply {
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  for (const e of parseRestore(stdin, { resolver: ctx.resolver })) {
    if (!e.result.ok) {
      stderr += usageErrorText(e.result.error, ctx.program ?? 'tsvsadm');
      exitCode = e.result.error.exitCode;
      if (e.result.error.kind !== 'popt') break;
      continue;
    }
    const r = execCommand(e.result.command, ctx, '');
    stdout += r.stdout;
    stderr += r.stderr;
    exitCode = r.exitCode;
  }
  return { stdout, stderr, exitCode };
}

/** The -c listing view of an engine entry. */
export function connEntryView(e: ConnEntry): ConnEntryView {
  return { protocol: e.protocol, client: e.client, virtual: e.virtual, dest: e.dest, stateName: e.state, expiresS: e.expiresS };
}
