// The OpenAPI 3 description of the REST API, served at /v1/openapi.json. Hand-written next to the
// routes; openapi.test.ts checks that every route in routes.ts is described here and vice versa.

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const int = (minimum: number, maximum: number, description?: string): Schema => ({ type: 'integer', minimum, maximum, ...(description ? { description } : {}) });
const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}),
});
const json = (schema: Schema) => ({ 'application/json': { schema } });
const ok = (description: string, schema: Schema) => ({ description, content: json(schema) });
const err = (description: string) => ({ description, content: json(ref('Error')) });

const SVC = { name: 'svc', in: 'path', required: true, schema: { type: 'string' }, description: 'Service id, URL-encoded: "tcp:10.0.0.1:80", "udp:[2001:db8::1]:53", "sctp:10.0.0.1:5060", "fwm:7" or "fwm6:7".' };
const RS = { name: 'rs', in: 'path', required: true, schema: { type: 'string' }, description: 'Real server id, URL-encoded: "10.0.0.2:80" or "[2001:db8::2]:80".' };
const DRY = { name: 'dryRun', in: 'query', required: false, schema: { type: 'string', enum: ['1', 'true', '0', 'false'] }, description: 'Validate and answer the operations without applying them.' };

const FORWARDING = { type: 'string', enum: ['masq', 'droute', 'tunnel', 'fullnat', 'local'] };
const tunnel = obj({
  type: { type: 'string', enum: ['ipip', 'gue', 'gre'], default: 'ipip' },
  port: int(1, 65535, 'UDP port of a gue tunnel (required for gue, illegal otherwise).'),
  csum: { type: 'string', enum: ['nocsum', 'csum', 'remcsum'], default: 'nocsum' },
});
const rsFields: Record<string, Schema> = {
  address: str('IPv4 or IPv6 address.'),
  port: int(0, 65535, 'Default: the service port (must equal it for droute and tunnel); 0 for fwmark services.'),
  weight: { ...int(0, 65535), default: 1 },
  forwarding: { ...FORWARDING, default: 'droute' },
  upperThreshold: { ...int(0, 2147483647), default: 0 },
  lowerThreshold: { ...int(0, 2147483647), default: 0 },
  tunnel: ref('Tunnel'),
};
const svcFields: Record<string, Schema> = {
  protocol: { type: 'string', enum: ['tcp', 'udp', 'sctp'], default: 'tcp' },
  address: str('Virtual IP (address services).'),
  port: int(0, 65535, 'Virtual port; 0 only with persistence.'),
  fwmark: int(1, 4294967295, 'Firewall mark (instead of protocol/address/port).'),
  family: { type: 'string', enum: ['ipv4', 'ipv6'], default: 'ipv4', description: 'Family of a fwmark service.' },
  scheduler: { type: 'string', enum: ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'], default: 'wlc' },
  schedFlags: { type: 'array', items: { type: 'string', enum: ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port', 'flag-1', 'flag-2', 'flag-3'] } },
  persistence: obj({
    timeout: { ...int(1, 2678400), default: 360 },
    netmask: { oneOf: [{ type: 'string', description: 'Dotted IPv4 mask.' }, int(1, 128, 'IPv6 prefix length.')] },
  }),
  ops: { type: 'boolean', default: false, description: 'One-packet scheduling (UDP and fwmark services).' },
  pe: { type: 'string', enum: ['sip'] },
  forwarding: { ...FORWARDING, description: 'Default forwarding of the real servers in this body.' },
  tunnel: ref('Tunnel'),
};
const stats = obj({
  conns: { type: 'integer' }, inPkts: { type: 'integer' }, outPkts: { type: 'integer' }, inBytes: { type: 'integer' }, outBytes: { type: 'integer' },
  rates: obj({ cps: { type: 'integer' }, inpps: { type: 'integer' }, outpps: { type: 'integer' }, inbps: { type: 'integer' }, outbps: { type: 'integer' } }),
});
const opSchema = obj({
  op: { type: 'string', enum: ['add-service', 'edit-service', 'delete-service', 'add-dest', 'edit-dest', 'delete-dest', 'flush', 'zero', 'set-timeouts'] },
  service: str('Service id.'), realServer: str('Real server id.'), config: { type: 'object' },
  tcp: { type: 'integer' }, tcpfin: { type: 'integer' }, udp: { type: 'integer' },
}, ['op']);
const applied = obj({ applied: { type: 'boolean' }, dryRun: { type: 'boolean' }, ops: { type: 'array', items: ref('TableOp') } }, ['applied', 'dryRun', 'ops']);

const BAD = err('Bad input: the message and `field` name what was wrong.');
const AUTH = { 401: err('Missing or wrong bearer token.'), 403: err('Host not allowed or client certificate missing.') };
const BODY = { 413: err('Body too large.'), 415: err('Body is not application/json.') };
const reqBody = (schema: Schema) => ({ required: true, content: json(schema) });

/** The OpenAPI document. */
export function buildOpenApi(): unknown {
  return {
    openapi: '3.0.3',
    info: {
      title: 'tsvs API', version: '1',
      description: 'Virtual services and real servers of a tsvs director (IPVS semantics). Every change is applied atomically: all of it or nothing. Errors are {"error": {"code", "message", "field"}}.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, {}],
    paths: {
      '/v1/services': {
        get: { summary: 'List services with real servers, counters and rates', responses: { 200: ok('Services', obj({ services: { type: 'array', items: ref('Service') } })), ...AUTH } },
        post: { summary: 'Add a service (ipvsadm -A), optionally with real servers', parameters: [DRY], requestBody: reqBody(ref('ServiceBody')),
          responses: { 201: ok('Added', ref('Service')), 200: ok('Dry run', ref('Applied')), 400: BAD, 409: err('Service exists.'), ...AUTH, ...BODY } },
      },
      '/v1/services/{svc}': {
        parameters: [SVC],
        get: { summary: 'One service', responses: { 200: ok('Service', ref('Service')), 400: BAD, 404: err('No such service.'), ...AUTH } },
        put: { summary: 'Replace a service\'s settings (ipvsadm -E, a full replace); with realServers, also its real servers', parameters: [DRY], requestBody: reqBody(ref('ServiceBody')),
          responses: { 200: ok('Replaced', ref('Service')), 400: BAD, 404: err('No such service.'), ...AUTH, ...BODY } },
        delete: { summary: 'Delete a service (ipvsadm -D)', parameters: [DRY], responses: { 204: { description: 'Deleted' }, 200: ok('Dry run', ref('Applied')), 400: BAD, 404: err('No such service.'), ...AUTH } },
      },
      '/v1/services/{svc}/realservers': {
        parameters: [SVC],
        get: { summary: 'Real servers of a service', responses: { 200: ok('Real servers', obj({ realServers: { type: 'array', items: ref('RealServer') } })), 400: BAD, 404: err('No such service.'), ...AUTH } },
        post: { summary: 'Add a real server (ipvsadm -a)', parameters: [DRY], requestBody: reqBody(ref('RealServerBody')),
          responses: { 201: ok('Added', ref('RealServer')), 200: ok('Dry run', ref('Applied')), 400: BAD, 404: err('No such service.'), 409: err('Real server exists.'), ...AUTH, ...BODY } },
      },
      '/v1/services/{svc}/realservers/{rs}': {
        parameters: [SVC, RS],
        get: { summary: 'One real server', responses: { 200: ok('Real server', ref('RealServer')), 400: BAD, 404: err('No such service or real server.'), ...AUTH } },
        put: { summary: 'Replace a real server\'s settings (ipvsadm -e, a full replace)', parameters: [DRY], requestBody: reqBody(obj(rsFields)),
          responses: { 200: ok('Replaced', ref('RealServer')), 400: BAD, 404: err('No such service or real server.'), ...AUTH, ...BODY } },
        patch: { summary: 'Change some settings; {"weight": 0} drains, the previous weight (lastWeight) restores', parameters: [DRY],
          requestBody: reqBody(obj({ weight: rsFields.weight, forwarding: FORWARDING, upperThreshold: rsFields.upperThreshold, lowerThreshold: rsFields.lowerThreshold, tunnel: ref('Tunnel') })),
          responses: { 200: ok('Changed', ref('RealServer')), 400: BAD, 404: err('No such service or real server.'), ...AUTH, ...BODY } },
        delete: { summary: 'Delete a real server (ipvsadm -d)', parameters: [DRY], responses: { 204: { description: 'Deleted' }, 200: ok('Dry run', ref('Applied')), 400: BAD, 404: err('No such service or real server.'), ...AUTH } },
      },
      '/v1/config': {
        get: { summary: 'The table as a desired-state document (what POST /v1/config takes)', responses: { 200: ok('Config', ref('Config')), ...AUTH } },
        post: { summary: 'Make the table equal to a full desired state (diff, validate, apply atomically)', parameters: [DRY], requestBody: reqBody(ref('Config')),
          responses: { 200: ok('The operations, applied unless dryRun', ref('Applied')), 400: BAD, 409: err('Duplicate service or real server.'), ...AUTH, ...BODY } },
      },
      '/v1/connections': {
        get: { summary: 'Connection entries, paged (ipvsadm -Lcn)', parameters: [
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        ], responses: { 200: ok('A page', obj({ total: { type: 'integer' }, offset: { type: 'integer' }, limit: { type: 'integer' }, entries: { type: 'array', items: ref('Connection') } })), 400: BAD, ...AUTH } },
      },
      '/v1/stats': {
        get: { summary: 'Counters (since the last zeroing) and rates: totals, per service, per real server', responses: { 200: ok('Stats', obj({
          totals: ref('Stats'),
          services: { type: 'array', items: { allOf: [ref('Stats'), obj({ id: { type: 'string' }, realServers: { type: 'array', items: { allOf: [ref('Stats'), obj({ id: { type: 'string' } })] } } })] } },
        })), ...AUTH } },
      },
      '/v1/health': { get: { summary: 'Health of the checked real servers', responses: { 200: ok('Health', obj({ realServers: { type: 'array', items: ref('Health') } })), ...AUTH } } },
      '/v1/timeouts': { get: { summary: 'Connection timeouts in seconds (ipvsadm -L --timeout)', responses: { 200: ok('Timeouts', obj({ tcp: { type: 'integer' }, tcpfin: { type: 'integer' }, udp: { type: 'integer' } })), ...AUTH } } },
      '/v1/events': { get: { summary: 'Server-Sent Events: one event per director event (event: kind, data: JSON), keep-alive comments', responses: { 200: { description: 'Event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, 503: err('Too many streams.'), ...AUTH } } },
      '/v1/metrics': { get: { summary: 'Prometheus metrics (also at /metrics)', responses: { 200: { description: 'Text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...AUTH } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...AUTH } } },
      '/v1/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3', content: json({ type: 'object' }) } } } },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Required when the server has a token (always off loopback unless mTLS).' } },
      schemas: {
        Error: obj({ error: obj({ code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string', nullable: true }, errno: { type: 'string' } }, ['code', 'message', 'field']) }, ['error']),
        Tunnel: tunnel,
        RealServerBody: obj(rsFields, ['address']),
        ServiceBody: obj({ ...svcFields, realServers: { type: 'array', items: ref('RealServerBody') } }),
        Config: obj({ services: { type: 'array', items: ref('ServiceBody') } }, ['services']),
        Stats: stats,
        TableOp: opSchema,
        Applied: applied,
        RealServer: { allOf: [ref('RealServerBody'), { type: 'object', properties: {
          id: { type: 'string' }, lastWeight: { type: 'integer' }, activeConns: { type: 'integer' }, inactiveConns: { type: 'integer' },
          persistentConns: { type: 'integer' }, available: { type: 'boolean' }, overloaded: { type: 'boolean' },
          health: { nullable: true, type: 'object' }, stats: ref('Stats'),
        } }] },
        Service: { allOf: [ref('ServiceBody'), { type: 'object', properties: {
          id: { type: 'string' }, realServers: { type: 'array', items: ref('RealServer') }, stats: ref('Stats'),
        } }] },
        Connection: obj({ protocol: { type: 'string' }, client: { type: 'string' }, virtual: { type: 'string' }, realServer: { type: 'string' }, state: { type: 'string' }, expiresS: { type: 'integer' }, template: { type: 'boolean' } }),
        Health: obj({ service: { type: 'string' }, realServer: { type: 'string' }, alive: { type: 'boolean' }, inTable: { type: 'boolean' }, weight: { type: 'integer', nullable: true }, checkers: { type: 'array', items: { type: 'object' } } }),
      },
    },
  };
}
