// The REST routes (prefix /v1) and their handlers. Reads look at DirectorApi.table; every change
// is a TableOp[] applied through DirectorApi.applyOps/applyDesired, so a change is validated whole
// and applied whole or not at all, and the director emits the event that says so.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Endpoint, formatIp, ipEquals, parseIp } from '../../core/net/addr.js';
import { destKeyString } from '../../core/service/keys.js';
import type { DestConfig, ServiceKey } from '../../core/service/types.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import type { DirectorApi, TableOp } from '../director-api.js';
import { METRICS_CONTENT_TYPE, type ControlCounters, renderMetrics } from '../metrics/prometheus.js';
import { checkApplied, locatorFor } from './apply.js';
import {
  type RealServerBody, desiredFromBody, desiredStateFromBody, destConfigFromBody, realServerBodySchema,
  realServerPatchSchema, realServerReplaceSchema, serviceBodySchema, serviceConfigFromBody,
} from './bodies.js';
import { formatRealServerId, formatServiceId, parseRealServerId, parseServiceId } from './ids.js';
import { HttpError, readJsonBody, sendEmpty, sendJson, sendText, validate } from './json.js';
import type { EventHub } from './sse.js';
import {
  configJson, connJson, destConfigJson, healthJson, indexHealth, opJson, realServerJson, serviceJson, statsJson,
} from './views.js';

/** What handlers need. */
export interface RouteContext {
  readonly api: DirectorApi;
  readonly maxBodyBytes: number;
  readonly events: EventHub;
  readonly controlCounters: () => ControlCounters | undefined;
  readonly openapi: () => unknown;
}

/** One request as handlers see it. */
export interface RouteRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Decoded path parameters, in pattern order. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly ctx: RouteContext;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** "/v1/services/{svc}"; a {name} segment is a parameter. */
  readonly path: string;
  /** Query parameters the route accepts; any other is a 400. */
  readonly query?: readonly string[];
  readonly handler: (r: RouteRequest) => void | Promise<void>;
}

/** The largest page of GET /v1/connections. */
export const MAX_CONNECTIONS_LIMIT = 1000;

// ----- parameters -----

function serviceKeyParam(text: string): ServiceKey {
  const key = parseServiceId(text);
  if (!key) {
    throw new HttpError('bad_request', `Path parameter 'svc' must be a service id like "tcp:10.0.0.1:80", "udp:[2001:db8::1]:53" or "fwm:7": current value is '${text}'`, 'svc');
  }
  return key;
}

function realServerParam(text: string): Endpoint {
  const e = parseRealServerId(text);
  if (!e) throw new HttpError('bad_request', `Path parameter 'rs' must be a real server id like "10.0.0.2:80" or "[2001:db8::2]:80": current value is '${text}'`, 'rs');
  return e;
}

function requireService(api: DirectorApi, key: ServiceKey): VirtualService {
  const svc = api.table.getService(key);
  if (!svc) throw new HttpError('not_found', `Service ${formatServiceId(key)} does not exist`, 'svc');
  return svc;
}

function requireRealServer(api: DirectorApi, svc: VirtualService, e: Endpoint) {
  const d = api.table.findDest(svc, e.addr, e.port);
  if (!d) throw new HttpError('not_found', `Real server ${formatRealServerId(e)} of service ${formatServiceId(svc.key)} does not exist`, 'rs');
  return d;
}

function boolQuery(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  if (v === '1' || v === 'true' || v === '') return true;
  if (v === '0' || v === 'false') return false;
  throw new HttpError('bad_request', `Query parameter '${name}' must be 1, true, 0 or false: current value is '${v}'`, name);
}

function intQuery(q: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null) return def;
  if (!/^(?:0|[1-9][0-9]{0,15})$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new HttpError('bad_request', `Query parameter '${name}' must be an integer ${min}..${max}: current value is '${v}'`, name);
  }
  return Number(v);
}

// ----- changes -----

/** Applies `ops` (or dry-runs them); answers 200 with the ops for a dry run and returns false. */
function apply(r: RouteRequest, ops: TableOp[], locate?: Parameters<typeof checkApplied>[1]): boolean {
  const dryRun = boolQuery(r.query, 'dryRun');
  const result = checkApplied(r.ctx.api.applyOps(ops, { dryRun, source: 'api' }), locate);
  if (dryRun) sendJson(r.res, 200, { applied: false, dryRun: true, ops: result.ops.map(opJson) });
  return !dryRun;
}

function sameDest(a: DestConfig, b: DestConfig): boolean {
  return JSON.stringify(destConfigJson(a)) === JSON.stringify(destConfigJson(b));
}

/** Operations that make `svc`'s real servers equal to `want` (new ones added in list order). */
function destDiff(svc: VirtualService, want: readonly DestConfig[]): TableOp[] {
  const ops: TableOp[] = [];
  const wanted = new Set(want.map((d) => destKeyString(d.addr, d.port)));
  for (const d of svc.destinations) {
    if (!wanted.has(destKeyString(d.addr, d.port))) ops.push({ op: 'delete-dest', key: svc.key, addr: d.addr, port: d.port });
  }
  const adds: TableOp[] = [];
  for (const d of want) {
    const live = svc.destinations.find((x) => destKeyString(x.addr, x.port) === destKeyString(d.addr, d.port));
    if (!live) adds.unshift({ op: 'add-dest', key: svc.key, dest: d });
    else if (!sameDest(live.config(), d)) ops.push({ op: 'edit-dest', key: svc.key, dest: d });
  }
  return [...ops, ...adds];
}

/** The tunnel part of a real server body for an existing destination. */
function currentTunnel(d: DestConfig): RealServerBody['tunnel'] {
  return d.method === 'tunnel' ? { type: d.tunType, csum: d.tunCsum, ...(d.tunType === 'gue' ? { port: d.tunPort } : {}) } : undefined;
}

// ----- handlers -----

async function createService(r: RouteRequest): Promise<void> {
  const body = validate(serviceBodySchema, await readJsonBody(r.req, r.ctx.maxBodyBytes));
  const desired = desiredFromBody(body);
  const key = desired.service.key;
  const ops: TableOp[] = [{ op: 'add-service', service: desired.service }];
  // -a puts each destination at the head: add in reverse so the list reads in body order.
  for (const d of [...desired.dests].reverse()) ops.push({ op: 'add-dest', key, dest: d });
  if (!apply(r, ops, locatorFor([desired], ''))) return;
  const id = formatServiceId(key);
  sendJson(r.res, 201, serviceJson(requireService(r.ctx.api, key), indexHealth(r.ctx.api.health())), { location: `/v1/services/${encodeURIComponent(id)}` });
}

async function replaceService(r: RouteRequest): Promise<void> {
  const pathKey = serviceKeyParam(r.params[0]);
  const body = validate(serviceBodySchema, await readJsonBody(r.req, r.ctx.maxBodyBytes));
  const svc = requireService(r.ctx.api, pathKey);
  const service = serviceConfigFromBody(body, '', pathKey);
  const ops: TableOp[] = [{ op: 'edit-service', service }];
  let locate = locatorFor([{ service, dests: [] }], '');
  if (body.realServers !== undefined) {
    const desired = desiredFromBody(body, '', pathKey);
    ops.push(...destDiff(svc, desired.dests));
    locate = locatorFor([desired], '');
  }
  if (!apply(r, ops, locate)) return;
  sendJson(r.res, 200, serviceJson(requireService(r.ctx.api, pathKey), indexHealth(r.ctx.api.health())));
}

async function addRealServer(r: RouteRequest): Promise<void> {
  const key = serviceKeyParam(r.params[0]);
  const body = validate(realServerBodySchema, await readJsonBody(r.req, r.ctx.maxBodyBytes));
  requireService(r.ctx.api, key);
  const dest = destConfigFromBody(body, key);
  if (!apply(r, [{ op: 'add-dest', key, dest }])) return;
  const svc = requireService(r.ctx.api, key);
  const d = requireRealServer(r.ctx.api, svc, dest);
  sendJson(r.res, 201, realServerJson(svc, d, indexHealth(r.ctx.api.health())), {
    location: `/v1/services/${encodeURIComponent(formatServiceId(key))}/realservers/${encodeURIComponent(formatRealServerId(d))}`,
  });
}

async function changeRealServer(r: RouteRequest, patch: boolean): Promise<void> {
  const key = serviceKeyParam(r.params[0]);
  const e = realServerParam(r.params[1]);
  const raw = await readJsonBody(r.req, r.ctx.maxBodyBytes);
  const svc = requireService(r.ctx.api, key);
  const cur = requireRealServer(r.ctx.api, svc, e).config();
  let body: RealServerBody;
  if (patch) {
    const p = validate(realServerPatchSchema, raw);
    const forwarding = p.forwarding ?? cur.method;
    body = {
      address: formatIp(e.addr), port: e.port,
      weight: p.weight ?? cur.weight, forwarding,
      upperThreshold: p.upperThreshold ?? cur.uThreshold, lowerThreshold: p.lowerThreshold ?? cur.lThreshold,
      tunnel: p.tunnel ?? (forwarding === 'tunnel' ? currentTunnel(cur) : undefined),
    };
  } else {
    const p = validate(realServerReplaceSchema, raw);
    if (p.address !== undefined) {
      const a = parseIp(p.address);
      if (!a || !ipEquals(a, e.addr)) throw new HttpError('bad_request', `Field 'address' is '${p.address}', not ${formatIp(e.addr)} of the path`, 'address');
    }
    if (p.port !== undefined && p.port !== e.port) throw new HttpError('bad_request', `Field 'port' is ${p.port}, not ${e.port} of the path`, 'port');
    body = { ...p, address: formatIp(e.addr), port: e.port };
  }
  const dest = destConfigFromBody(body, key);
  if (!apply(r, [{ op: 'edit-dest', key, dest }])) return;
  const live = requireService(r.ctx.api, key);
  sendJson(r.res, 200, realServerJson(live, requireRealServer(r.ctx.api, live, e), indexHealth(r.ctx.api.health())));
}

async function postConfig(r: RouteRequest): Promise<void> {
  const dryRun = boolQuery(r.query, 'dryRun');
  const desired = desiredStateFromBody(await readJsonBody(r.req, r.ctx.maxBodyBytes));
  const result = checkApplied(r.ctx.api.applyDesired(desired, { dryRun, source: 'api' }), locatorFor(desired, 'services'));
  sendJson(r.res, 200, { applied: !dryRun, dryRun, ops: result.ops.map(opJson) });
}

function getStats(r: RouteRequest): void {
  const t = r.ctx.api.table;
  sendJson(r.res, 200, {
    totals: statsJson(t.totals),
    services: t.services().map((s) => ({
      id: formatServiceId(s.key),
      ...statsJson(s.stats),
      realServers: s.destinations.map((d) => ({ id: formatRealServerId(d), ...statsJson(d.stats) })),
    })),
  });
}

function getMetrics(r: RouteRequest): void {
  sendText(r.res, 200, METRICS_CONTENT_TYPE, renderMetrics(r.ctx.api, r.ctx.controlCounters()));
}

/** Every route of the API. */
export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/v1/services', handler: (r) => {
    const h = indexHealth(r.ctx.api.health());
    sendJson(r.res, 200, { services: r.ctx.api.table.services().map((s) => serviceJson(s, h)) });
  } },
  { method: 'POST', path: '/v1/services', query: ['dryRun'], handler: createService },
  { method: 'GET', path: '/v1/services/{svc}', handler: (r) => {
    sendJson(r.res, 200, serviceJson(requireService(r.ctx.api, serviceKeyParam(r.params[0])), indexHealth(r.ctx.api.health())));
  } },
  { method: 'PUT', path: '/v1/services/{svc}', query: ['dryRun'], handler: replaceService },
  { method: 'DELETE', path: '/v1/services/{svc}', query: ['dryRun'], handler: (r) => {
    const key = serviceKeyParam(r.params[0]);
    requireService(r.ctx.api, key);
    if (apply(r, [{ op: 'delete-service', key }])) sendEmpty(r.res);
  } },
  { method: 'GET', path: '/v1/services/{svc}/realservers', handler: (r) => {
    const svc = requireService(r.ctx.api, serviceKeyParam(r.params[0]));
    const h = indexHealth(r.ctx.api.health());
    sendJson(r.res, 200, { realServers: svc.destinations.map((d) => realServerJson(svc, d, h)) });
  } },
  { method: 'POST', path: '/v1/services/{svc}/realservers', query: ['dryRun'], handler: addRealServer },
  { method: 'GET', path: '/v1/services/{svc}/realservers/{rs}', handler: (r) => {
    const svc = requireService(r.ctx.api, serviceKeyParam(r.params[0]));
    const d = requireRealServer(r.ctx.api, svc, realServerParam(r.params[1]));
    sendJson(r.res, 200, realServerJson(svc, d, indexHealth(r.ctx.api.health())));
  } },
  { method: 'PUT', path: '/v1/services/{svc}/realservers/{rs}', query: ['dryRun'], handler: (r) => changeRealServer(r, false) },
  { method: 'PATCH', path: '/v1/services/{svc}/realservers/{rs}', query: ['dryRun'], handler: (r) => changeRealServer(r, true) },
  { method: 'DELETE', path: '/v1/services/{svc}/realservers/{rs}', query: ['dryRun'], handler: (r) => {
    const key = serviceKeyParam(r.params[0]);
    const e = realServerParam(r.params[1]);
    requireRealServer(r.ctx.api, requireService(r.ctx.api, key), e);
    if (apply(r, [{ op: 'delete-dest', key, addr: e.addr, port: e.port }])) sendEmpty(r.res);
  } },
  { method: 'GET', path: '/v1/config', handler: (r) => sendJson(r.res, 200, configJson(r.ctx.api.table.services())) },
  { method: 'POST', path: '/v1/config', query: ['dryRun'], handler: postConfig },
  { method: 'GET', path: '/v1/connections', query: ['offset', 'limit'], handler: (r) => {
    const offset = intQuery(r.query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intQuery(r.query, 'limit', 100, 1, MAX_CONNECTIONS_LIMIT);
    const page = r.ctx.api.connections(offset, limit);
    sendJson(r.res, 200, { total: page.total, offset, limit, entries: page.entries.slice(0, limit).map(connJson) });
  } },
  { method: 'GET', path: '/v1/stats', handler: getStats },
  { method: 'GET', path: '/v1/health', handler: (r) => sendJson(r.res, 200, { realServers: r.ctx.api.health().map(healthJson) }) },
  { method: 'GET', path: '/v1/timeouts', handler: (r) => sendJson(r.res, 200, r.ctx.api.timeouts()) },
  { method: 'GET', path: '/v1/events', handler: (r) => r.ctx.events.attach(r.req, r.res) },
  { method: 'GET', path: '/v1/metrics', handler: getMetrics },
  { method: 'GET', path: '/v1/openapi.json', handler: (r) => sendJson(r.res, 200, r.ctx.openapi()) },
];

/** The metrics route without the /v1 prefix (where Prometheus looks by default). */
export const METRICS_ROUTE: Route = { method: 'GET', path: '/metrics', handler: getMetrics };

/** A route matched against a path: the route and its decoded parameters. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: string[];
}

/**
 * Finds the route for `method` and `pathname`. Returns the match, or the methods the path allows
 * (for 405), or undefined (404). Parameters are percent-decoded per segment (400 if malformed).
 */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): RouteMatch | { allow: string[] } | undefined {
  const segs = pathname.split('/');
  const allow: string[] = [];
  for (const route of routes) {
    const pat = route.path.split('/');
    if (pat.length !== segs.length) continue;
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < pat.length && ok; i++) {
      if (pat[i].startsWith('{')) {
        if (segs[i] === '') { ok = false; break; }
        try {
          params.push(decodeURIComponent(segs[i]));
        } catch {
          throw new HttpError('bad_request', `Path segment '${segs[i]}' is not valid percent-encoding`, pat[i].slice(1, -1));
        }
      } else if (pat[i] !== segs[i]) ok = false;
    }
    if (!ok) continue;
    if (route.method === method) return { route, params };
    allow.push(route.method);
  }
  return allow.length > 0 ? { allow } : undefined;
}
