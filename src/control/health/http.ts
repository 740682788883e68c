// HTTP_GET and SSL_GET (spec §7.3): for every url, one connection and keepalived's request
//   GET <path> HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\n[Connection: close\r\n]Host: <h>\r\n\r\n
// then the status code must be in the allowed set (default 200-299), the body's MD5 must equal
// `digest` and `regex` must match (or not, with regex_no_match). All urls must pass.
import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { CheckFailure, runProbe, targetText, validateTarget, whenAborted, type CheckResult, type CheckTarget, type Checker } from './checker.js';
import { readResponse } from './http-response.js';
import { connectTcp } from './tcp.js';

/** An allowed status code, or an inclusive range [low, high]. */
export type StatusCodeSpec = number | readonly [number, number];

/** One `url { ... }` block. */
export interface HttpUrl {
  /** Request path, e.g. "/health". */
  readonly path: string;
  /** Allowed codes (status_code); default 200-299. */
  readonly statusCodes?: readonly StatusCodeSpec[];
  /** Expected MD5 of the body, 32 hex digits (digest, as genhash prints it). */
  readonly digest?: string;
  /** A regular expression the body must match (regex). */
  readonly regex?: string;
  /** Invert `regex`: the body must not match (regex_no_match). */
  readonly regexNoMatch?: boolean;
  /** Host header for this url (virtualhost), overriding the checker's. */
  readonly virtualhost?: string;
}

/** keepalived's http_protocol: 1.0 (bare), 1.0C (adds Connection: close), 1.1 (with Connection: close). */
export type HttpProtocol = '1.0' | '1.0C' | '1.1';

/** Options of HTTP_GET / SSL_GET. */
export interface HttpCheckOptions {
  /** Where to connect. */
  readonly target: CheckTarget;
  /** The urls to fetch; at least one. */
  readonly urls: readonly HttpUrl[];
  /** SSL_GET: speak TLS. */
  readonly tls?: boolean;
  /** Default Host header (virtualhost, cascaded from the real/virtual server); else "ip:port". */
  readonly virtualhost?: string;
  /** http_protocol; default "1.0". */
  readonly httpProtocol?: HttpProtocol;
  /** enable_sni: send SNI (the sni_name, else the virtualhost). */
  readonly enableSni?: boolean;
  /** sni_name. */
  readonly sniName?: string;
  /** Verify the server's certificate chain against `ca` (off by default, like keepalived). */
  readonly verifyCa?: boolean;
  /** Trusted CA certificate(s) in PEM (global SSL `ca`). */
  readonly ca?: string | Buffer;
  /** Client certificate and key in PEM (global SSL `certificate`/`key`). */
  readonly cert?: string | Buffer;
  /** Client private key in PEM. */
  readonly key?: string | Buffer;
  /** Largest response accepted, in bytes; default 1 MiB. */
  readonly maxResponseBytes?: number;
}

const DEFAULT_CODES: readonly StatusCodeSpec[] = [[200, 299]];
const DEFAULT_MAX_RESPONSE = 1 << 20;

/** Parses keepalived's status_code list, e.g. "200 201-299", into specs. */
export function parseStatusCodes(text: string): StatusCodeSpec[] {
  return text.trim().split(/[\s,]+/).map((tok) => {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(tok);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      throw new RangeError(`Cannot parse status_code as each item must be a code or a range like 200-299: current value is "${tok}"`);
    }
    return m[2] === undefined ? Number(m[1]) : ([Number(m[1]), Number(m[2])] as const);
  });
}

function codesText(codes: readonly StatusCodeSpec[]): string {
  return codes.map((c) => (typeof c === 'number' ? String(c) : `${c[0]}-${c[1]}`)).join(' ');
}

function codeAllowed(codes: readonly StatusCodeSpec[], status: number): boolean {
  return codes.some((c) => (typeof c === 'number' ? c === status : status >= c[0] && status <= c[1]));
}

/** Builds keepalived's GET request for one url. */
export function buildRequest(path: string, protocol: HttpProtocol, host: string): string {
  const minor = protocol === '1.1' ? 1 : 0;
  const conn = protocol === '1.0' ? '' : 'Connection: close\r\n';
  return `GET ${path} HTTP/1.${minor}\r\nUser-Agent: KeepAliveClient\r\n${conn}Host: ${host}\r\n\r\n`;
}

interface CompiledUrl {
  readonly url: HttpUrl;
  readonly codes: readonly StatusCodeSpec[];
  readonly regex?: RegExp;
}

/** HTTP_GET / SSL_GET checker. */
export class HttpChecker implements Checker {
  private readonly opts: HttpCheckOptions;
  private readonly urls: readonly CompiledUrl[];
  private readonly kind: string;

  /** @param opts urls, target and TLS options; validated here (RangeError naming the field). */
  constructor(opts: HttpCheckOptions) {
    this.kind = opts.tls ? 'SSL_GET' : 'HTTP_GET';
    validateTarget(this.kind, opts.target);
    if (opts.urls.length === 0) throw new RangeError(`Cannot create ${this.kind} as 'urls' must not be empty: current value is []`);
    const proto = opts.httpProtocol ?? '1.0';
    if (!['1.0', '1.0C', '1.1'].includes(proto)) {
      throw new RangeError(`Cannot create ${this.kind} as 'httpProtocol' must be 1.0, 1.0C or 1.1: current value is ${proto}`);
    }
    this.urls = opts.urls.map((url) => {
      if (!url.path.startsWith('/') || /[\s]/.test(url.path)) {
        throw new RangeError(`Cannot create ${this.kind} as url 'path' must start with / and hold no spaces: current value is "${url.path}"`);
      }
      if (url.digest !== undefined && !/^[0-9a-fA-F]{32}$/.test(url.digest)) {
        throw new RangeError(`Cannot create ${this.kind} as url 'digest' must be 32 hex digits (MD5): current value is "${url.digest}"`);
      }
      let regex: RegExp | undefined;
      if (url.regex !== undefined) {
        try {
          regex = new RegExp(url.regex);
        } catch (e) {
          throw new RangeError(`Cannot create ${this.kind} as url 'regex' does not compile: ${(e as Error).message}`);
        }
      }
      return regex ? { url, codes: url.statusCodes ?? DEFAULT_CODES, regex } : { url, codes: url.statusCodes ?? DEFAULT_CODES };
    });
    this.opts = opts;
  }

  /** @returns e.g. "HTTP_GET 10.0.0.3:80 /health" */
  describe(): string {
    return `${this.kind} ${targetText(this.opts.target)} ${this.urls.map((u) => u.url.path).join(' ')}`;
  }

  /** Fetches every url in turn on a new connection; the first failing url fails the check. */
  check(signal: AbortSignal): Promise<CheckResult> {
    const scheme = this.opts.tls ? 'https' : 'http';
    return runProbe(`${this.kind} ${scheme}://${targetText(this.opts.target)}`, signal, async () => {
      const seen: string[] = [];
      for (const u of this.urls) {
        try {
          seen.push(`${u.url.path} ${await this.fetchOne(u, signal)}`);
        } catch (e) {
          if (e instanceof CheckFailure) throw new CheckFailure(`${u.url.path}: ${e.message}`);
          throw e;
        }
      }
      return { detail: seen.join(', ') };
    });
  }

  private hostHeader(u: HttpUrl): string {
    const vhost = u.virtualhost ?? this.opts.virtualhost;
    // Without a virtualhost keepalived sends the address and port, [v6] in brackets (RFC 2732).
    return vhost ?? targetText(this.opts.target);
  }

  private async fetchOne(u: CompiledUrl, signal: AbortSignal): Promise<string> {
    const sock = this.opts.tls ? await this.connectTls(u.url, signal) : await connectTcp(this.opts.target, signal);
    const responseP = readResponse(sock, signal, this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE);
    sock.write(buildRequest(u.url.path, this.opts.httpProtocol ?? '1.0', this.hostHeader(u.url)));
    const res = await responseP;
    if (!codeAllowed(u.codes, res.status)) throw new CheckFailure(`HTTP status ${res.status} not in ${codesText(u.codes)}`);
    if (u.url.digest !== undefined) {
      const got = createHash('md5').update(res.body).digest('hex');
      if (got !== u.url.digest.toLowerCase()) throw new CheckFailure(`MD5 digest ${got} does not match ${u.url.digest.toLowerCase()}`);
    }
    if (u.regex) {
      const matched = u.regex.test(res.body.toString('utf8'));
      if (matched && u.url.regexNoMatch) throw new CheckFailure(`body matches regex /${u.regex.source}/ (regex_no_match)`);
      if (!matched && !u.url.regexNoMatch) throw new CheckFailure(`body does not match regex /${u.regex.source}/`);
    }
    return `${res.status}`;
  }

  private async connectTls(u: HttpUrl, signal: AbortSignal): Promise<tls.TLSSocket> {
    const o = this.opts;
    const sni = o.enableSni ? (o.sniName ?? u.virtualhost ?? o.virtualhost) : undefined;
    const raw = await connectTcp(o.target, signal);
    return new Promise((resolve, reject) => {
      const sock = tls.connect({
        socket: raw,
        // TLS forbids SNI with an IP literal; Node would warn, so only names are sent.
        ...(sni && net.isIP(sni) === 0 ? { servername: sni } : {}),
        rejectUnauthorized: o.verifyCa ?? false,
        // keepalived verifies the chain only: the peer is addressed by IP, so no name check.
        checkServerIdentity: () => undefined,
        ...(o.ca ? { ca: o.ca } : {}),
        ...(o.cert ? { cert: o.cert } : {}),
        ...(o.key ? { key: o.key } : {}),
      });
      const detach = whenAborted(signal, () => {
        sock.destroy();
        reject(signal.reason);
      });
      const onError = (err: Error): void => {
        detach();
        sock.destroy();
        reject(new CheckFailure(`TLS handshake: ${err.message}`));
      };
      sock.once('error', onError);
      sock.once('secureConnect', () => {
        detach();
        sock.removeListener('error', onError);
        resolve(sock);
      });
    });
  }
}
