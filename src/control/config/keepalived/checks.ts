// keepalived checkers (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK, MISC_CHECK,
// UDP_CHECK; spec §7.3) → tsvs.yaml checks. Options keep their keepalived meaning; anything
// tsvs cannot do yet is reported with its line.
import { parseIp } from '../../../core/net/addr.js';
import { DNS_TYPES } from '../schema-checks.js';
import { isOneOf } from '../schema-values.js';
import type { KaNode } from './parser.js';
import { expectArgs, normalizeHex, readBool, readInt, readTimer, splitCommand, userOf } from './values.js';
import type { ReadCtx } from './values.js';

/** A check as it will be written to tsvs.yaml. */
export type CheckOut = Record<string, unknown> & { type: string };

/** keepalived checker keyword → tsvs check type. */
export const CHECKERS: Record<string, string> = {
  TCP_CHECK: 'tcp', HTTP_GET: 'http', SSL_GET: 'https', SMTP_CHECK: 'smtp', DNS_CHECK: 'dns', MISC_CHECK: 'exec', UDP_CHECK: 'udp',
};

/** Checkers tsvs does not have, with the reason given to the operator. */
export const UNSUPPORTED_CHECKERS: Record<string, string> = {
  PING_CHECK: 'no ICMP echo checker yet; the real server keeps its other checks',
  FILE_CHECK: 'no file-tracking checker yet; the real server keeps its other checks',
  BFD_CHECK: 'tsvs has no BFD; the real server keeps its other checks',
};

const U32_MAX = 4294967295;

/** Converts one checker block; undefined when nothing usable is left (reported). */
export function convertChecker(ctx: ReadCtx, node: KaNode): CheckOut | undefined {
  const type = CHECKERS[node.keyword];
  const out: CheckOut = { type };
  const urls: Record<string, unknown>[] = [];
  for (const opt of node.block ?? []) {
    if (applyTiming(ctx, opt, out, type === 'exec')) continue;
    if (type !== 'exec' && applyConnection(ctx, opt, out)) continue;
    if (!applySpecific(ctx, opt, out, type, urls)) {
      ctx.diag.unsupported(opt.file, opt.line, opt.keyword, `unknown or unsupported ${node.keyword} option`);
    }
  }
  if (type === 'http' || type === 'https') {
    if (urls.length === 0) {
      ctx.diag.add(node.file, node.line, 'warning', `${node.keyword} has no url block: the check was left out`);
      return undefined;
    }
    out.urls = urls;
  }
  if (type === 'exec' && out.command === undefined) {
    ctx.diag.add(node.file, node.line, 'warning', 'MISC_CHECK has no misc_path: the check was left out');
    return undefined;
  }
  if (type === 'udp' && typeof out.minReplyLength === 'number' && typeof out.maxReplyLength === 'number' && out.minReplyLength > out.maxReplyLength) {
    ctx.diag.add(node.file, node.line, 'warning', 'min_reply_length is greater than max_reply_length: both left at their defaults');
    delete out.minReplyLength;
    delete out.maxReplyLength;
  }
  return out;
}

/** Options every checker has (MISC_CHECK too): alpha onwards in keepalived.conf(5). */
function applyTiming(ctx: ReadCtx, opt: KaNode, out: CheckOut, exec: boolean): boolean {
  let v: number | boolean | undefined;
  switch (opt.keyword) {
    case 'delay_loop': v = readTimer(ctx, opt, 0, 0.001, 86400); if (v !== undefined) out.delayLoop = v; return true;
    case 'retry':
    case 'nb_get_retry': v = readInt(ctx, opt, 0, 0, 1000); if (v !== undefined) out.retry = v; return true;
    case 'delay_before_retry': v = readTimer(ctx, opt, 0, 0, 86400); if (v !== undefined) out.delayBeforeRetry = v; return true;
    case 'warmup': v = readTimer(ctx, opt, 0, 0, 86400); if (v !== undefined) out.warmup = v; return true;
    case 'alpha': v = readBool(ctx, opt); if (v !== undefined) out.alpha = v; return true;
    case 'log_all_failures': v = readBool(ctx, opt); if (v !== undefined) out.logAllFailures = v; return true;
    case 'connect_timeout':
      if (exec) {
        ctx.diag.add(opt.file, opt.line, 'warning', 'connect_timeout: MISC_CHECK uses misc_timeout; ignored');
        return true;
      }
      v = readTimer(ctx, opt, 0, 0.001, 3600); if (v !== undefined) out.connectTimeout = v; return true;
    default: return false;
  }
}

function applyConnection(ctx: ReadCtx, opt: KaNode, out: CheckOut): boolean {
  let v: number | undefined;
  switch (opt.keyword) {
    case 'connect_ip':
    case 'bindto': {
      if (!expectArgs(ctx, opt, 1, 1)) return true;
      const ip = parseIp(opt.args[0].text);
      if (!ip) ctx.diag.add(opt.file, opt.line, 'warning', `${opt.keyword}: ${JSON.stringify(opt.args[0].text)} is not an IP address; ignored`);
      else out[opt.keyword === 'bindto' ? 'bindTo' : 'connectIp'] = opt.args[0].text;
      return true;
    }
    case 'connect_port': v = readInt(ctx, opt, 0, 1, 65535); if (v !== undefined) out.connectPort = v; return true;
    case 'bind_port': v = readInt(ctx, opt, 0, 1, 65535); if (v !== undefined) out.bindPort = v; return true;
    case 'bind_if': if (expectArgs(ctx, opt, 1, 1)) out.bindInterface = opt.args[0].text; return true;
    case 'fwmark': v = readInt(ctx, opt, 0, 1, U32_MAX); if (v !== undefined) out.fwmark = v; return true;
    default: return false;
  }
}

function applySpecific(ctx: ReadCtx, opt: KaNode, out: CheckOut, type: string, urls: Record<string, unknown>[]): boolean {
  const k = opt.keyword;
  let v: number | boolean | undefined;
  if (type === 'http' || type === 'https') {
    switch (k) {
      case 'url': { const u = convertUrl(ctx, opt); if (u) urls.push(u); return true; }
      case 'http_protocol':
        if (!expectArgs(ctx, opt, 1, 1)) return true;
        if (['1.0', '1.0C', '1.1'].includes(opt.args[0].text)) out.httpProtocol = opt.args[0].text;
        else ctx.diag.add(opt.file, opt.line, 'warning', `http_protocol: ${JSON.stringify(opt.args[0].text)} is not 1.0, 1.0C or 1.1; ignored`);
        return true;
      case 'virtualhost': if (expectArgs(ctx, opt, 1, 1)) out.virtualhost = opt.args[0].text; return true;
      case 'fast_recovery': v = readBool(ctx, opt); if (v !== undefined) out.fastRecovery = v; return true;
    }
    if (type === 'https') {
      switch (k) {
        case 'enable_sni': v = readBool(ctx, opt); if (v !== undefined) out.enableSni = v; return true;
        case 'sni_name': if (expectArgs(ctx, opt, 1, 1)) { out.sniName = opt.args[0].text; out.enableSni = true; } return true;
        case 'tls_compliant': v = readBool(ctx, opt); if (v !== undefined) out.tlsCompliant = v; return true;
      }
    }
    return false;
  }
  switch (type) {
    case 'smtp':
      if (k === 'helo_name') { if (expectArgs(ctx, opt, 1, 1)) out.heloName = opt.args[0].text; return true; }
      if (k === 'host') { ctx.diag.unsupported(opt.file, opt.line, 'SMTP_CHECK host', 'the legacy host sub-block is not converted; use one SMTP_CHECK per target with connect_ip/connect_port'); return true; }
      return false;
    case 'dns':
      if (k === 'type') {
        if (!expectArgs(ctx, opt, 1, 1)) return true;
        const t = opt.args[0].text.toUpperCase();
        if (isOneOf(DNS_TYPES, t)) out.queryType = t;
        else ctx.diag.add(opt.file, opt.line, 'warning', `type: ${JSON.stringify(opt.args[0].text)} is not one of ${DNS_TYPES.join(', ')}; ignored`);
        return true;
      }
      if (k === 'name') { if (expectArgs(ctx, opt, 1, 1)) out.name = opt.args[0].text; return true; }
      return false;
    case 'udp':
      switch (k) {
        case 'payload': {
          const hex = normalizeHex(opt.args.map((a) => a.text), false);
          if (hex === undefined) ctx.diag.add(opt.file, opt.line, 'warning', 'payload: not a hex string; ignored');
          else out.payload = hex;
          return true;
        }
        case 'require_reply': {
          if (opt.args.length === 0) { out.requireReply = true; return true; }
          const hex = normalizeHex(opt.args.map((a) => a.text), true);
          if (hex === undefined) ctx.diag.add(opt.file, opt.line, 'warning', 'require_reply: not a hex string; ignored');
          else out.requireReply = hex;
          return true;
        }
        case 'min_reply_length': v = readInt(ctx, opt, 0, 0, 65535); if (v !== undefined) out.minReplyLength = v; return true;
        case 'max_reply_length': v = readInt(ctx, opt, 0, 0, 65535); if (v !== undefined) out.maxReplyLength = v; return true;
      }
      return false;
    case 'exec':
      switch (k) {
        case 'misc_path': {
          if (!expectArgs(ctx, opt, 1, 3)) return true;
          const argv = splitCommand(opt.args[0].text);
          if (argv.length === 0) { ctx.diag.add(opt.file, opt.line, 'warning', 'misc_path: names no program; ignored'); return true; }
          out.command = argv;
          const user = userOf(opt.args.slice(1).map((a) => a.text));
          if (user !== undefined) out.user = user;
          return true;
        }
        case 'misc_timeout': v = readTimer(ctx, opt, 0, 0.001, 86400); if (v !== undefined) out.timeout = v; return true;
        case 'misc_dynamic': v = readBool(ctx, opt); if (v !== undefined) out.dynamic = v; return true;
        case 'user': {
          if (!expectArgs(ctx, opt, 1, 2)) return true;
          out.user = userOf(opt.args.map((a) => a.text));
          return true;
        }
      }
      return false;
    default:
      return false;
  }
}

const STATUS = /^([1-5][0-9]{2})(?:-([1-5][0-9]{2}))?$/;

function convertUrl(ctx: ReadCtx, node: KaNode): Record<string, unknown> | undefined {
  if (!node.block) {
    ctx.diag.add(node.file, node.line, 'warning', 'url needs a { ... } block; ignored');
    return undefined;
  }
  const u: Record<string, unknown> = {};
  for (const opt of node.block) {
    switch (opt.keyword) {
      case 'path':
        if (!expectArgs(ctx, opt, 1, 1)) break;
        if (opt.args[0].text.startsWith('/')) u.path = opt.args[0].text;
        else ctx.diag.add(opt.file, opt.line, 'warning', `path: ${JSON.stringify(opt.args[0].text)} does not start with /; ignored`);
        break;
      case 'digest':
        if (!expectArgs(ctx, opt, 1, 1)) break;
        if (/^[0-9a-fA-F]{32}$/.test(opt.args[0].text)) u.digest = opt.args[0].text.toLowerCase();
        else ctx.diag.add(opt.file, opt.line, 'warning', 'digest: not 32 hex digits (an MD5 from genhash); ignored');
        break;
      case 'status_code': {
        const codes: (number | string)[] = [];
        for (const a of opt.args) {
          const m = STATUS.exec(a.text);
          if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
            ctx.diag.add(opt.file, opt.line, 'warning', `status_code: ${JSON.stringify(a.text)} is not a status 100..599 or a range like 200-299; ignored`);
          } else codes.push(m[2] === undefined ? Number(m[1]) : a.text);
        }
        if (codes.length) u.statusCodes = codes;
        break;
      }
      case 'virtualhost': if (expectArgs(ctx, opt, 1, 1)) u.virtualhost = opt.args[0].text; break;
      case 'regex': {
        if (!expectArgs(ctx, opt, 1, 1)) break;
        try {
          new RegExp(opt.args[0].text);
          u.regex = opt.args[0].text;
        } catch {
          ctx.diag.add(opt.file, opt.line, 'warning', 'regex: not valid as a JavaScript regular expression (tsvs does not use PCRE); ignored');
        }
        break;
      }
      case 'regex_no_match': { const b = readBool(ctx, opt); if (b !== undefined) u.regexNoMatch = b; break; }
      default:
        ctx.diag.unsupported(opt.file, opt.line, opt.keyword, 'unknown or unsupported url option');
    }
  }
  if (u.path === undefined) {
    ctx.diag.add(node.file, node.line, 'warning', 'url has no path: the url was left out');
    return undefined;
  }
  return u;
}
