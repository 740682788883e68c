// Built-in demo real servers for `npm start` (tsvs demo): small HTTP servers on loopback that
// answer which backend they are, so a user can watch the proxy plane balance with curl and
// `tsvsadm -L -n --stats` without setting anything up.
import http from 'node:http';
import { parseIp } from '../../core/net/addr.js';
import type { ServiceTable } from '../../core/service/service-table.js';
import { DEST_DEFAULTS, defaultNetmask } from '../../core/service/types.js';

/** One running demo backend. */
export interface DemoBackend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Requests answered so far. */
  readonly requests: () => number;
  close(): Promise<void>;
}

/**
 * Starts an HTTP server on host:port (port 0 = any) that answers every request with
 * "backend <name> <host>:<port>\n" and an `X-Backend: <name>` header. Requests may ask for a
 * body of N bytes with `?size=N` (bounded to 64 MiB) to exercise bulk transfers.
 */
export function startDemoBackend(name: string, host: string, port = 0): Promise<DemoBackend> {
  let count = 0;
  const srv = http.createServer((req, res) => {
    count++;
    const m = /[?&]size=(\d+)/.exec(req.url ?? '');
    const addr = srv.address();
    const where = addr && typeof addr === 'object' ? `${addr.address}:${addr.port}` : host;
    res.setHeader('X-Backend', name);
    res.setHeader('Content-Type', 'text/plain');
    if (m) {
      const size = Math.min(Number(m[1]), 64 << 20);
      res.setHeader('Content-Length', size);
      const chunk = Buffer.alloc(Math.min(size, 65536), 0x61);
      let left = size;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { res.once('drain', pump); return; }
        }
        res.end();
      };
      pump();
      return;
    }
    res.end(`backend ${name} ${where}\n`);
  });
  srv.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ host, port }, () => {
      srv.removeListener('error', reject);
      const a = srv.address();
      const bound = a && typeof a === 'object' ? a.port : port;
      resolve({
        name, host, port: bound,
        requests: () => count,
        close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
      });
    });
  });
}

/** Starts `n` demo backends on 127.0.0.(first+i):port, named a, b, c... */
export async function startDemoBackends(n: number, port: number, first = 11): Promise<DemoBackend[]> {
  const out: DemoBackend[] = [];
  try {
    for (let i = 0; i < n; i++) out.push(await startDemoBackend(String.fromCharCode(97 + i), `127.0.0.${first + i}`, port));
  } catch (e) {
    await Promise.all(out.map((b) => b.close()));
    throw e;
  }
  return out;
}

/**
 * Adds the demo's virtual service to `table`: TCP vip:port, scheduler `sched`, one masq
 * destination per backend (weight 1). `tsvs demo` then starts a ProxyPlane over the table.
 */
export function addDemoService(table: ServiceTable, backends: readonly DemoBackend[], vip = '127.0.0.1', port = 8080, sched = 'wlc'): void {
  const addr = parseIp(vip);
  if (!addr) throw new Error(`Cannot use demo VIP '${vip}': not an IP address`);
  const key = { kind: 'addr', protocol: 'tcp', addr, port } as const;
  table.addService({ key, scheduler: sched, flags: 0, timeoutS: 0, netmask: defaultNetmask(addr.family) });
  for (const b of [...backends].reverse()) {
    table.addDest(key, { ...DEST_DEFAULTS, method: 'masq', addr: parseIp(b.host)!, port: b.port, weight: 1 });
  }
}
