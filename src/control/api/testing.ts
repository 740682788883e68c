// A real DirectorApi for the API tests: the control plane's Director (atomic apply over a scratch
// copy, events) over a real ServiceTable, with a connection source and health the test sets.
// Schedulers: the built-in ones when src/core/sched/builtin.ts provides them, else trivial
// factories under every name the config schema knows (the API never schedules).
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { ManualClock } from '../../core/clock.js';
import { SeededRandom } from '../../core/random.js';
import { type SchedulerEnv, type SchedulerFactory, MH_DEFAULT_TABLE_SIZE, SchedulerRegistry } from '../../core/sched/scheduler.js';
import { SCHEDULERS } from '../config/schema.js';
import type { ConnView, PacketWorkerCounters, ProxyCounters, RealServerHealth } from '../director-api.js';
import { type ConnSource, Director } from '../director.js';
import { type ApiServer, type ApiServerOptions, startApiServer } from './server.js';
import { configJson } from './views.js';

/** A connection source whose entries and counters the test sets. */
export class FakeConns implements ConnSource {
  entries: ConnView[] = [];
  drops: Record<string, number> = {};
  connsMax = 1 << 20;
  proxy: ProxyCounters | undefined;
  packetWorkers: PacketWorkerCounters[] | undefined;
  packetHeldFrames: { held: number; released: number; dropped: number } | undefined;
  t = { tcp: 900, tcpfin: 120, udp: 300 };
  removed: number[] = [];
  connections(offset: number, limit: number) {
    return { total: this.entries.length, entries: this.entries.slice(offset, offset + limit) };
  }
  counters() {
    return { drops: { ...this.drops }, conns: this.entries.length, connsMax: this.connsMax, proxy: this.proxy, packetWorkers: this.packetWorkers, packetHeldFrames: this.packetHeldFrames };
  }
  getTimeouts() { return { ...this.t }; }
  setTimeouts(t: { tcp: number; tcpfin: number; udp: number }) {
    this.t = { tcp: t.tcp || this.t.tcp, tcpfin: t.tcpfin || this.t.tcpfin, udp: t.udp || this.t.udp };
  }
  destinationRemoved(id: number) { this.removed.push(id); }
}

/** A scheduler that picks the first available destination. */
function trivialFactory(name: string): SchedulerFactory {
  return { name, create: () => ({ name, schedule: (svc) => svc.destinations.find((d) => d.isAvailable && d.weight > 0) }) };
}

/** A registry with the built-in schedulers if they exist, completed with trivial ones. */
export async function testRegistry(): Promise<SchedulerRegistry> {
  const registry = new SchedulerRegistry();
  const builtinPath = '../../core/sched/builtin.js';
  try {
    const mod = (await import(builtinPath)) as { registerBuiltinSchedulers?: (r: SchedulerRegistry) => void };
    mod.registerBuiltinSchedulers?.(registry);
  } catch {
    // Not there yet: the trivial ones below do.
  }
  for (const name of SCHEDULERS) if (!registry.has(name)) registry.register(trivialFactory(name));
  return registry;
}

export interface TestDirector {
  readonly director: Director;
  readonly conns: FakeConns;
  readonly clock: ManualClock;
  /** Listeners subscribed through onEvent (to check that streams clean up). */
  listenerCount(): number;
  /** Sets what health() answers. */
  setHealth(entries: RealServerHealth[]): void;
}

/** A Director over a fresh table, ready for the API. */
export async function makeTestDirector(): Promise<TestDirector> {
  const clock = new ManualClock(0);
  const env: SchedulerEnv = {
    clock, random: new SeededRandom(1), mhTableSize: MH_DEFAULT_TABLE_SIZE, lblcExpirationS: 86400, lblcrExpirationS: 86400,
  };
  const conns = new FakeConns();
  const director = new Director({ registry: await testRegistry(), env, conns });
  let listeners = 0;
  const onEvent = director.onEvent.bind(director);
  director.onEvent = (l) => {
    listeners++;
    const off = onEvent(l);
    let done = false;
    return () => { if (!done) { done = true; listeners--; } off(); };
  };
  let health: RealServerHealth[] = [];
  director.setHealthProvider(() => health);
  return { director, conns, clock, listenerCount: () => listeners, setHealth: (h) => { health = h; } };
}

/** An HTTP answer as tests look at it. */
export interface TestResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/** One HTTP request: `body` is sent as JSON, `raw` as is (with the given headers). */
export function request(base: string, method: string, path: string, opts: {
  body?: unknown; raw?: string | Buffer; headers?: Record<string, string>; chunked?: boolean;
} = {}): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] ??= 'application/json';
    } else if (opts.raw !== undefined) payload = Buffer.from(opts.raw);
    if (payload && !opts.chunked) headers['content-length'] = String(payload.length);
    const req = httpRequest(new URL(path, base), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A started API server over a test director, with a request helper bound to it. */
export interface TestServer extends TestDirector {
  readonly server: ApiServer;
  readonly url: string;
  req(method: string, path: string, opts?: Parameters<typeof request>[3]): Promise<TestResponse>;
  close(): Promise<void>;
}

/** Starts an API server on 127.0.0.1, port 0, over a fresh test director. */
export async function startTestServer(opts: ApiServerOptions = {}): Promise<TestServer> {
  const td = await makeTestDirector();
  const server = await startApiServer(td.director, { listen: '127.0.0.1:0', log: () => {}, ...opts });
  return {
    ...td, server, url: server.url,
    req: (method, path, o) => request(server.url, method, path, o),
    close: () => server.close(),
  };
}

/** The table as a comparable string (config and counters), to check that a refusal changed nothing. */
export function tableFingerprint(d: Director): string {
  return JSON.stringify({ generation: d.table.generation, config: configJson(d.table.services()) });
}
