// Reads one HTTP response off a socket for HTTP_GET/SSL_GET: the status line, the headers, and a
// body delimited by Content-Length, chunked coding or the close of the connection.
import type { Duplex } from 'node:stream';
import { CheckFailure, whenAborted } from './checker.js';

/** A parsed HTTP response. */
export interface HttpResponse {
  /** The numeric status code. */
  readonly status: number;
  /** Header names in lower case; repeated headers joined by ", ". */
  readonly headers: ReadonlyMap<string, string>;
  /** The body with any chunked transfer coding removed. */
  readonly body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');

interface Head {
  status: number;
  headers: Map<string, string>;
  bodyStart: number;
}

function parseHead(buf: Buffer, end: number): Head {
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/\d\.\d (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) throw new CheckFailure(`malformed status line "${(lines[0] ?? '').slice(0, 60)}"`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { status: Number(m[1]), headers, bodyStart: end + HEADER_END.length };
}

/** Decodes a chunked body; returns undefined while the terminating chunk has not arrived yet. */
export function decodeChunked(raw: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at, 'latin1');
    if (eol < 0) return undefined;
    const sizeText = raw.subarray(at, eol).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new CheckFailure(`malformed chunk size "${sizeText.slice(0, 20)}"`);
    const size = parseInt(sizeText, 16);
    if (size === 0) return Buffer.concat(parts);
    const dataStart = eol + 2;
    if (raw.length < dataStart + size + 2) return undefined;
    parts.push(raw.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}

/**
 * Collects the response to a request already written on `sock`. Rejects with CheckFailure on a
 * malformed or oversized response, with the socket error, or when `signal` aborts.
 */
export function readResponse(sock: Duplex, signal: AbortSignal, maxBytes: number): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let head: Head | undefined;
    let settled = false;
    const finish = (err: unknown, res?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      detach();
      sock.removeAllListeners('data');
      sock.destroy();
      if (res) resolve(res);
      else reject(err);
    };
    const detach = whenAborted(signal, () => finish(signal.reason));
    // Completes the response from what has arrived; `eof` means the peer closed its side.
    const tryComplete = (eof: boolean): void => {
      const buf = Buffer.concat(chunks, total);
      if (!head) {
        const end = buf.indexOf(HEADER_END);
        if (end < 0) {
          if (eof) finish(new CheckFailure(total ? 'connection closed inside the response headers' : 'connection closed without a response'));
          return;
        }
        head = parseHead(buf, end);
      }
      const raw = buf.subarray(head.bodyStart);
      const te = head.headers.get('transfer-encoding')?.toLowerCase() ?? '';
      const lenText = head.headers.get('content-length');
      let body: Buffer | undefined;
      if (te.includes('chunked')) {
        body = decodeChunked(raw);
        if (!body && eof) finish(new CheckFailure('connection closed inside a chunked body'));
      } else if (lenText !== undefined && /^\d+$/.test(lenText)) {
        const len = Number(lenText);
        if (raw.length >= len) body = raw.subarray(0, len);
        else if (eof) finish(new CheckFailure(`connection closed after ${raw.length} of ${len} body bytes`));
      } else if (eof) {
        body = raw;
      }
      if (body) finish(undefined, { status: head.status, headers: head.headers, body });
    };
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      total += d.length;
      if (total > maxBytes) finish(new CheckFailure(`response larger than ${maxBytes} bytes`));
      else {
        try {
          tryComplete(false);
        } catch (e) {
          finish(e);
        }
      }
    });
    sock.once('end', () => {
      try {
        tryComplete(true);
      } catch (e) {
        finish(e);
      }
    });
    sock.once('close', () => finish(new CheckFailure('connection closed without a response')));
    sock.once('error', (e) => finish(e));
  });
}
