// Builds health checkers from resolved config checks (config → health subsystem).
import { parseIp } from '../../core/net/addr.js';
import type { ResolvedCheck } from '../config/to-table.js';
import {
  type Checker, DnsChecker, ExecChecker, HttpChecker, SmtpChecker, TcpChecker, UdpChecker,
} from '../health/index.js';
import type { CheckTarget } from '../health/checker.js';

/** The checker for one resolved check. */
export function buildChecker(rc: ResolvedCheck): Checker {
  const s = rc.spec;
  const target: CheckTarget = { addr: rc.target.addr, port: rc.target.port };
  if ('bindTo' in s && s.bindTo) {
    const bind = parseIp(s.bindTo);
    if (bind) Object.assign(target, { bindAddr: bind, bindPort: 'bindPort' in s ? s.bindPort : undefined });
  }
  switch (s.type) {
    case 'tcp': return new TcpChecker(target);
    case 'http':
    case 'https':
      return new HttpChecker({
        target, tls: s.type === 'https', httpProtocol: s.httpProtocol,
        virtualhost: s.virtualhost,
        enableSni: s.type === 'https' ? s.enableSni : undefined,
        sniName: s.type === 'https' ? s.sniName : undefined,
        urls: s.urls.map((u, i) => ({
          path: u.path, digest: u.digest, regex: u.regex, regexNoMatch: u.regexNoMatch,
          virtualhost: rc.virtualhosts?.[i] ?? u.virtualhost,
          statusCodes: rc.statusRanges?.[i]?.map(([a, b]) => (a === b ? a : ([a, b] as const))),
        })),
      });
    case 'udp':
      return new UdpChecker({
        target, payload: s.payload, minReplyLength: s.minReplyLength, maxReplyLength: s.maxReplyLength,
        requireReply: s.requireReply !== false,
        replyData: typeof s.requireReply === 'string' ? s.requireReply : undefined,
      });
    case 'dns': return new DnsChecker({ target, type: s.queryType, name: s.name });
    case 'smtp': return new SmtpChecker({ target, heloName: s.heloName });
    case 'exec': return new ExecChecker({ argv: s.command, timeoutMs: rc.timeoutS * 1000, dynamic: s.dynamic });
  }
}
