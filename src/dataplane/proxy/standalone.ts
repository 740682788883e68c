// A standalone proxy load balancer from the command line, for benchmarks and quick trials:
//   node standalone.js [--sched rr] [--workers N] LISTEN=BACKEND[,BACKEND...] ...
// e.g. node standalone.js 127.0.0.1:9104=127.0.0.2:8081,127.0.0.3:8082 127.0.0.1:9204=127.0.0.4:5201
// Each LISTEN becomes a TCP virtual service with the given scheduler and its backends as masq
// destinations of weight 1; the proxy plane serves them with the full engine.
import { parseEndpoint } from '../../core/net/addr.js';
import { DEST_DEFAULTS, defaultNetmask } from '../../core/service/types.js';
import type { ServiceTable } from '../../core/service/service-table.js';

/** One LISTEN=BACKENDS argument. */
export interface ListenSpec {
  readonly listen: string;
  readonly backends: readonly string[];
}

/** Parses LISTEN=BACKEND[,BACKEND...]; throws naming the bad argument. */
export function parseListenSpec(arg: string): ListenSpec {
  const eq = arg.indexOf('=');
  const listen = eq === -1 ? '' : arg.slice(0, eq);
  const backends = eq === -1 ? [] : arg.slice(eq + 1).split(',').filter((s) => s !== '');
  if (!parseEndpoint(listen) || backends.length === 0 || !backends.every((b) => parseEndpoint(b))) {
    throw new Error(`Cannot parse '${arg}': expected LISTEN=BACKEND[,BACKEND...] with ip:port endpoints`);
  }
  return { listen, backends };
}

/** Adds the services of `specs` to `table` (TCP, scheduler `sched`). */
export function addListenSpecs(table: ServiceTable, specs: readonly ListenSpec[], sched: string): void {
  for (const s of specs) {
    const l = parseEndpoint(s.listen)!;
    const key = { kind: 'addr', protocol: 'tcp', addr: l.addr, port: l.port } as const;
    table.addService({ key, scheduler: sched, flags: 0, timeoutS: 0, netmask: defaultNetmask(l.addr.family) });
    // Added in reverse so the table lists them in the given order (newest first, spec §1).
    for (const b of [...s.backends].reverse()) {
      const e = parseEndpoint(b)!;
      table.addDest(key, { ...DEST_DEFAULTS, method: 'masq', addr: e.addr, port: e.port, weight: 1 });
    }
  }
}
