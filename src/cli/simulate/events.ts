// The events file of `tsvs simulate`: one event per line, times in seconds, never decreasing.
//   <t> open  <tcp|udp|sctp> <client_ip>:<port> <vip>:<port> [fwmark=N]
//   <t> close <tcp|udp|sctp> <client_ip>:<port> <vip>:<port> [fwmark=N]
//   <t> rule  <an ipvsadm command line, e.g. -e -t 10.0.0.1:80 -r 10.0.1.1:80 -w 0>
// `#` starts a comment; blank lines are ignored. Parsing is strict: a bad line is an error that
// names the file and line, and nothing is simulated.
import { type Endpoint, parseEndpoint } from '../../core/net/addr.js';
import type { Protocol } from '../../core/service/types.js';

export type SimEvent =
  | { readonly kind: 'open' | 'close'; readonly line: number; readonly t: number; readonly protocol: Protocol; readonly client: Endpoint; readonly vip: Endpoint; readonly fwmark: number }
  | { readonly kind: 'rule'; readonly line: number; readonly t: number; readonly argv: string[] };

/** A problem in an input file, with its location. */
export class InputError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'InputError';
  }
}

const TIME = /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

/** Splits a rule's text into argv the way a shell would for plain words and simple quotes. */
export function splitWords(text: string): string[] | undefined {
  const out: string[] = [];
  const re = /\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))/y;
  let i = 0;
  const s = text.trim();
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    out.push(m[1] ?? m[2] ?? m[3]);
    i = re.lastIndex;
    while (i < s.length && /\s/.test(s[i])) i++;
  }
  return out;
}

/** Parses an events file's text. Throws InputError on the first bad line. */
export function parseEvents(text: string, file: string): SimEvent[] {
  const events: SimEvent[] = [];
  let lastT = 0;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const raw = lines[n].replace(/\r$/, '');
    const hash = raw.indexOf('#');
    const body = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    if (body === '') continue;
    const fail = (msg: string): never => { throw new InputError(file, lineNo, msg); };
    const m = /^(\S+)\s+(\S+)\s*(.*)$/.exec(body);
    if (!m) fail(`expected '<time> <open|close|rule> ...': got '${body}'`);
    const [, tText, verb, rest] = m!;
    if (!TIME.test(tText)) fail(`time must be a non-negative decimal number of seconds: got '${tText}'`);
    const t = Number(tText);
    if (t < lastT) fail(`time ${tText} is earlier than the previous event's (${lastT}): events must be in time order`);
    lastT = t;
    if (verb === 'rule') {
      const argv = splitWords(rest);
      if (!argv || argv.length === 0) fail(`'rule' needs an ipvsadm command line, e.g. '-e -t 10.0.0.1:80 -r 10.0.1.1:80 -w 0'`);
      if (argv![0] === 'ipvsadm') argv!.shift();
      events.push({ kind: 'rule', line: lineNo, t, argv: argv! });
      continue;
    }
    if (verb !== 'open' && verb !== 'close') fail(`unknown event '${verb}': expected open, close or rule`);
    const words = rest.split(/\s+/).filter((w) => w !== '');
    if (words.length < 3 || words.length > 4) fail(`'${verb}' needs '<tcp|udp|sctp> <client_ip>:<port> <vip>:<port> [fwmark=N]'`);
    const protocol = words[0];
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') fail(`protocol must be tcp, udp or sctp: got '${protocol}'`);
    const client = parseEndpoint(words[1]);
    if (!client) fail(`client must be ip:port or [ipv6]:port: got '${words[1]}'`);
    const vip = parseEndpoint(words[2]);
    if (!vip) fail(`virtual address must be ip:port or [ipv6]:port: got '${words[2]}'`);
    if (client!.addr.family !== vip!.addr.family) fail('client and virtual address must be of the same family');
    let fwmark = 0;
    if (words.length === 4) {
      const fm = /^fwmark=([1-9][0-9]{0,9})$/.exec(words[3]);
      if (!fm || Number(fm[1]) > 0xffffffff) fail(`expected 'fwmark=N' with N in 1..4294967295: got '${words[3]}'`);
      fwmark = Number(fm![1]);
    }
    events.push({ kind: verb as 'open' | 'close', line: lineNo, t, protocol: protocol as Protocol, client: client!, vip: vip!, fwmark });
  }
  return events;
}
