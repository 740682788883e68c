// Every change the REST API makes goes through DirectorApi.applyOps/applyDesired (all or nothing).
// This module turns a refused change into the HTTP error it deserves: the core's errno decides the
// status (EEXIST 409, ESRCH 404, ...) and the failing operation decides which request field is
// named, so a client learns "services[2].realServers[0].weight", not just "ERANGE".
import { destKeyString, serviceKeyString } from '../../core/service/keys.js';
import type { ApplyResult, DesiredService, TableOp } from '../director-api.js';
import { type ErrorCode, HttpError } from './json.js';

/** Finds the request field an operation came from ("" for the body itself, "services[1]." ...). */
export type OpLocator = (op: TableOp) => string | null;

/** A locator for a list of desired services; `listPrefix` "services" for /config bodies, "" for one service. */
export function locatorFor(desired: readonly DesiredService[], listPrefix: string): OpLocator {
  const services = new Map<string, { index: number; dests: Map<string, number> }>();
  desired.forEach((d, index) => {
    services.set(serviceKeyString(d.service.key), {
      index, dests: new Map(d.dests.map((x, i) => [destKeyString(x.addr, x.port), i])),
    });
  });
  const svcPrefix = (i: number) => (listPrefix === '' ? '' : `${listPrefix}[${i}].`);
  return (op) => {
    const key = op.op === 'add-service' || op.op === 'edit-service' ? op.service.key : 'key' in op ? op.key : undefined;
    if (!key) return null;
    const s = services.get(serviceKeyString(key));
    if (!s) return null;
    if (op.op === 'add-dest' || op.op === 'edit-dest' || op.op === 'delete-dest') {
      const addr = op.op === 'delete-dest' ? op.addr : op.dest.addr;
      const port = op.op === 'delete-dest' ? op.port : op.dest.port;
      const i = s.dests.get(destKeyString(addr, port));
      return i === undefined ? svcPrefix(s.index) : `${svcPrefix(s.index)}realServers[${i}].`;
    }
    return svcPrefix(s.index);
  };
}

/** The field of a core message, by what it talks about. */
function fieldOfMessage(message: string): string | null {
  const rules: ReadonlyArray<[RegExp, string]> = [
    [/weight/i, 'weight'],
    [/lower threshold/i, 'lowerThreshold'],
    [/threshold/i, 'upperThreshold'],
    [/gue|tunnel/i, 'tunnel'],
    [/address family/i, 'address'],
    [/^port/i, 'port'],
    [/firewall mark/i, 'fwmark'],
    [/prefix length|netmask/i, 'persistence.netmask'],
    [/persistence engine/i, 'pe'],
    [/scheduler/i, 'scheduler'],
    [/timeout/i, 'timeout'],
  ];
  for (const [re, field] of rules) if (re.test(message)) return field;
  return null;
}

/** The HttpError for a refused ApplyResult. */
export function applyError(result: ApplyResult, locate: OpLocator = () => ''): HttpError {
  const err = result.error ?? { message: 'The change was refused' };
  const op = err.opIndex !== undefined ? result.ops[err.opIndex] : undefined;
  const serviceOp = op?.op === 'add-service' || op?.op === 'edit-service';
  let code: ErrorCode;
  switch (err.errno) {
    case 'EEXIST': code = 'conflict'; break;
    case 'ESRCH': code = 'not_found'; break;
    case 'ENOENT': code = serviceOp ? 'bad_request' : 'not_found'; break;
    case 'ENOMEM': code = 'unavailable'; break;
    case 'EPERM': code = 'forbidden'; break;
    default: code = 'bad_request';
  }
  let field: string | null = null;
  if (code === 'bad_request' || code === 'conflict') {
    const prefix = op ? locate(op) : null;
    const suffix = code === 'bad_request' ? fieldOfMessage(err.message) : null;
    if (prefix !== null && suffix !== null) field = prefix + suffix;
    else if (prefix) field = prefix.replace(/\.$/, '');
  }
  return new HttpError(code, err.message, field, { errno: err.errno });
}

/** Throws the HttpError of a refused result; returns the result otherwise. */
export function checkApplied(result: ApplyResult, locate?: OpLocator): ApplyResult {
  if (!result.ok) throw applyError(result, locate);
  return result;
}
