// The API server: one HTTP(S) listener for the REST API (/v1), the Prometheus metrics (/metrics)
// and the dashboard (/). It listens on 127.0.0.1:9180 by default; any other address must be
// protected by a bearer token or by mTLS, and the server refuses to start otherwise. Without a
// token it only answers Host headers that name a loopback address (no DNS rebinding).
import { createHash, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { isLoopback, parseEndpoint, parseIp, type IpAddress } from '../../core/net/addr.js';
import { MIN_TOKEN_LENGTH } from '../config/schema-values.js';
import { ControlEventTally, type MetricsSource } from '../metrics/prometheus.js';
import { DEFAULT_MAX_BODY_BYTES, HttpError, sendError, sendText } from './json.js';
import { buildOpenApi } from './openapi.js';
import { METRICS_ROUTE, ROUTES, type Route, type RouteContext, matchRoute } from './routes.js';
import { EventHub } from './sse.js';
import { DASHBOARD_CSP, loadWebAssets } from './web-assets.js';


export interface ApiTlsOptions {
  /** PEM certificate chain and key of the server. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** PEM CA bundle for client certificates; setting it requires and verifies them (mTLS). */
  readonly clientCa?: string | Buffer;
}

export interface ApiServerOptions {
  /** "ip:port" or "[ip6]:port" (the config's api.listen); default "127.0.0.1:9180". */
  readonly listen?: string;
  /** Bearer token; required (or mTLS) off loopback. Checked on every request when set. */
  readonly token?: string;
  /** Serve HTTPS (with clientCa: mTLS). */
  readonly tls?: ApiTlsOptions;
  /** Serve the REST API and the dashboard (default true). */
  readonly api?: boolean;
  /** Serve metrics at metricsPath and /v1/metrics (default true). */
  readonly metrics?: boolean;
  /** Default "/metrics". */
  readonly metricsPath?: string;
  /** Request body limit in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** SSE keep-alive interval (default 15 s) and most concurrent streams (default 64). */
  readonly eventKeepAliveMs?: number;
  readonly maxEventStreams?: number;
  /** Folder with index.html, app.js, style.css (default: the repository's web/); false: no dashboard. */
  readonly webRoot?: string | false;
  /** Where unexpected errors are reported (default console.error). */
  readonly log?: (message: string) => void;
}

/** A running API server. */
export interface ApiServer {
  /** Base URL, e.g. "http://127.0.0.1:9180". */
  readonly url: string;
  readonly address: AddressInfo;
  /** The Node server (for tests and the daemon's diagnostics). */
  readonly server: Server;
  /** Stops listening and ends every open connection and event stream. */
  close(): Promise<void>;
}

const DEFAULT_LISTEN = '127.0.0.1:9180';

/** Parses the listen address; "localhost:port" means 127.0.0.1. Throws a clear Error. */
export function parseListen(listen: string): { addr: IpAddress; host: string; port: number } {
  const text = listen.startsWith('localhost:') ? `127.0.0.1:${listen.slice('localhost:'.length)}` : listen;
  const e = parseEndpoint(text);
  if (!e) throw new Error(`Cannot start the API server as listen address '${listen}' is not "ip:port" or "[ip6]:port"`);
  const host = text.startsWith('[') ? text.slice(1, text.indexOf(']')) : text.slice(0, text.lastIndexOf(':'));
  return { addr: e.addr, host, port: e.port };
}

/**
 * Throws unless the options are safe to listen with: off loopback a token (of at least
 * MIN_TOKEN_LENGTH characters) or mTLS is required.
 */
export function checkListenSecurity(opts: ApiServerOptions): void {
  const listen = opts.listen ?? DEFAULT_LISTEN;
  const { addr } = parseListen(listen);
  if (opts.token !== undefined && opts.token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`Cannot start the API server as the bearer token is too short: it must have at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (opts.tls && !(opts.tls.cert && opts.tls.key)) throw new Error('Cannot start the API server as tls needs both cert and key');
  if (isLoopback(addr)) return;
  if (opts.token !== undefined || (opts.tls?.clientCa !== undefined)) return;
  throw new Error(`Cannot start the API server on ${listen} as it is not a loopback address and nothing protects it: set a bearer token (api.token or api.tokenFile) or mTLS (api.tls with clientCa), or listen on 127.0.0.1`);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Request handling, without a listener (the daemon may mount it elsewhere; tests use it). */
export class ApiHandler {
  readonly events: EventHub;
  private readonly tally: ControlEventTally;
  private readonly tokenDigest: Buffer | undefined;
  private readonly assets: ReturnType<typeof loadWebAssets>;
  private readonly routes: Route[];
  private readonly ctx: RouteContext;
  private readonly log: (message: string) => void;
  private readonly loopbackOnly: boolean;

  constructor(api: MetricsSource, private readonly opts: ApiServerOptions = {}) {
    this.events = new EventHub(api, { keepAliveMs: opts.eventKeepAliveMs, maxClients: opts.maxEventStreams });
    this.tally = new ControlEventTally(api);
    this.tokenDigest = opts.token !== undefined ? digest(opts.token) : undefined;
    const serveApi = opts.api ?? true;
    const serveMetrics = opts.metrics ?? true;
    this.assets = serveApi && opts.webRoot !== false ? loadWebAssets(opts.webRoot) : undefined;
    this.routes = [
      ...(serveApi ? ROUTES.filter((r) => serveMetrics || r.path !== '/v1/metrics') : []),
      ...(serveMetrics ? [{ ...METRICS_ROUTE, path: opts.metricsPath ?? '/metrics' }] : []),
    ];
    this.ctx = {
      api,
      maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      events: this.events,
      controlCounters: () => this.tally.counters(),
      openapi: buildOpenApi,
    };
    this.log = opts.log ?? ((m) => console.error(m));
    this.loopbackOnly = opts.token === undefined && opts.tls?.clientCa === undefined;
  }

  /** Handles one request; never throws, never leaves a request unanswered. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    this.dispatch(req, res).catch((e: unknown) => {
      if (!(e instanceof HttpError)) this.log(`tsvs api: ${req.method} ${req.url}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      // A body we did not read (fully) is not worth keeping the connection for.
      if (!req.complete && !res.headersSent) res.setHeader('connection', 'close');
      sendError(res, e);
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    if (!pathname.startsWith('/')) throw new HttpError('bad_request', 'Request target must be a path');
    if (this.loopbackOnly) this.checkHost(req);
    const method = req.method ?? '';
    const asset = this.assets?.get(pathname);
    if (asset) {
      if (method !== 'GET') throw new HttpError('method_not_allowed', `${method} is not allowed on ${pathname}`, null, { headers: { allow: 'GET' } });
      sendText(res, 200, asset.type, asset.body, { 'content-security-policy': DASHBOARD_CSP, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' });
      return;
    }
    const m = matchRoute(this.routes, method, pathname);
    if (!m) throw new HttpError('not_found', `No such resource: ${pathname}`);
    this.checkAuth(req);
    if ('allow' in m) throw new HttpError('method_not_allowed', `${method} is not allowed on ${pathname} (allowed: ${m.allow.join(', ')})`, null, { headers: { allow: m.allow.join(', ') } });
    const allowed = new Set(m.route.query ?? []);
    const seen = new Set<string>();
    for (const name of query.keys()) {
      if (!allowed.has(name)) throw new HttpError('bad_request', `Unknown query parameter '${name}'${allowed.size ? ` (allowed: ${[...allowed].join(', ')})` : ''}`, name);
      if (seen.has(name)) throw new HttpError('bad_request', `Query parameter '${name}' is given more than once`, name);
      seen.add(name);
    }
    await m.route.handler({ req, res, params: m.params, query, ctx: this.ctx });
  }

  private checkHost(req: IncomingMessage): void {
    const host = req.headers.host ?? '';
    const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:[0-9]*$/, '');
    const a = parseIp(name);
    if (name === 'localhost' || (a && isLoopback(a))) return;
    throw new HttpError('forbidden', `Host '${host}' is not a loopback name: without a token this server only answers requests for 127.0.0.1, [::1] or localhost`);
  }

  private checkAuth(req: IncomingMessage): void {
    const tls = req.socket as Partial<TLSSocket>;
    if (this.opts.tls?.clientCa !== undefined && tls.authorized !== true) {
      throw new HttpError('forbidden', 'A verified client certificate is required');
    }
    if (!this.tokenDigest) return;
    const h = req.headers.authorization;
    const challenge = { headers: { 'www-authenticate': 'Bearer realm="tsvs"' } };
    if (h === undefined) throw new HttpError('unauthorized', 'Authorization: Bearer <token> is required', null, challenge);
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    if (!m || !timingSafeEqual(digest(m[1]), this.tokenDigest)) throw new HttpError('unauthorized', 'The bearer token is not valid', null, challenge);
  }

  /** Ends event streams and stops counting events. */
  close(): void {
    this.events.close();
    this.tally.stop();
  }
}

/** Starts the API server; rejects with a clear Error when the options are unsafe or it cannot listen. */
export async function startApiServer(api: MetricsSource, opts: ApiServerOptions = {}): Promise<ApiServer> {
  checkListenSecurity(opts);
  const { host, port } = parseListen(opts.listen ?? DEFAULT_LISTEN);
  const handler = new ApiHandler(api, opts);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => handler.handle(req, res);
  const server: Server = opts.tls
    ? createHttpsServer({
      cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2',
      ...(opts.tls.clientCa !== undefined ? { ca: opts.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    }, onRequest)
    : createServer(onRequest);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => {
      handler.close(); // release the handler's director subscription and event streams
      reject(new Error(`Cannot start the API server on ${opts.listen ?? DEFAULT_LISTEN}: ${e.message}`));
    };
    server.once('error', fail);
    server.listen({ host, port }, () => { server.off('error', fail); resolve(); });
  });
  server.on('error', (e) => (opts.log ?? console.error)(`tsvs api: ${e.message}`));
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${urlHost}:${address.port}`,
    address,
    server,
    close: () => new Promise<void>((resolve) => {
      handler.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
