// JSON in and out for the REST API: strict body reading (content type, size limit, UTF-8, JSON),
// zod validation whose first issue becomes one error naming the field, and the error shape every
// route answers with: {"error": {"code", "message", "field"}} plus the matching HTTP status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZodError, ZodIssue, ZodType, ZodTypeDef } from 'zod';

/** Error codes and their HTTP statuses. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
  unavailable: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error that becomes an HTTP error answer. `field` names the offending input, when one does. */
export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly field: string | null;
  readonly headers: Record<string, string>;
  /** The core's errno, when the table refused a change (TsvsError). */
  readonly errno: string | undefined;
  constructor(code: ErrorCode, message: string, field: string | null = null, opts: { headers?: Record<string, string>; errno?: string } = {}) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.field = field;
    this.headers = opts.headers ?? {};
    this.errno = opts.errno;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** The body of an error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field: string | null; errno?: string };
}

/** Default request body limit (bytes). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * Reads a request body as JSON: requires a JSON content type (415), at most `maxBytes` (413,
 * checked on Content-Length before reading and while reading), valid UTF-8 and valid JSON (400).
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type === undefined || !JSON_TYPE.test(type)) {
    throw new HttpError('unsupported_media_type', `Request body must be application/json: content type is ${type === undefined ? 'missing' : `'${type}'`}`);
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new HttpError('payload_too_large', `Request body must be at most ${maxBytes} bytes: Content-Length is ${declared}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError('payload_too_large', `Request body must be at most ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return parseJsonText(Buffer.concat(chunks));
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 strictly and parses JSON; a 400 HttpError says what was wrong. Never throws anything else. */
export function parseJsonText(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new HttpError('bad_request', 'Request body is not valid UTF-8');
  }
  if (text.trim() === '') throw new HttpError('bad_request', 'Request body is empty: a JSON document is required');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HttpError('bad_request', `Request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Formats a zod path as "realServers[0].weight" (prefixed with `prefix` when given). */
export function formatPath(path: ReadonlyArray<string | number>, prefix = ''): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

/** ': current value is 70000' for a scalar at `path` in `data` (std message style), else ''. */
function currentValue(data: unknown, path: ReadonlyArray<string | number>): string {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return '';
    v = (v as Record<string | number, unknown>)[p];
  }
  if (v === undefined || (v !== null && typeof v === 'object')) return '';
  const text = JSON.stringify(v);
  return `: current value is ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

/** The HttpError for a zod failure: its first issue, with the field it names (`data`: the input, for its value). */
export function zodToHttpError(err: ZodError, prefix = '', data?: unknown): HttpError {
  const issue: ZodIssue = err.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const field = formatPath([...issue.path, issue.keys[0]], prefix);
    return new HttpError('bad_request', `Unknown field '${field}'`, field);
  }
  const field = formatPath(issue.path, prefix);
  let message = issue.message;
  if (issue.code === 'invalid_type' && issue.received === 'undefined') message = 'is required';
  else if (issue.code === 'invalid_type' && message.startsWith('Expected')) {
    message = `must be ${issue.expected === 'object' ? 'a JSON object' : issue.expected === 'array' ? 'a list' : issue.expected}: got ${issue.received}`;
  } else message += currentValue(data, issue.path);
  return new HttpError('bad_request', field === '' ? `Request body ${message}` : `Field '${field}' ${message}`, field === '' ? null : field);
}

/** Validates `data` with `schema`, or throws a 400 HttpError naming the first offending field. */
export function validate<O, I>(schema: ZodType<O, ZodTypeDef, I>, data: unknown, prefix = ''): O {
  const r = schema.safeParse(data);
  if (!r.success) throw zodToHttpError(r.error, prefix, data);
  return r.data;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/** Sends a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Sends an answer without a body (204). */
export function sendEmpty(res: ServerResponse, status = 204): void {
  res.writeHead(status, SECURITY_HEADERS);
  res.end();
}

/** Sends a text answer (metrics, static files). */
export function sendText(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': contentType,
    'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.length),
    ...headers,
  });
  res.end(body);
}

/** Sends the error answer for `e`; anything but an HttpError is an internal error (details not leaked). */
export function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof HttpError ? e : new HttpError('internal', 'Internal error');
  const body: ErrorBody = { error: { code: err.code, message: err.message, field: err.field } };
  if (err.errno !== undefined) body.error.errno = err.errno;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, body, err.headers);
}
