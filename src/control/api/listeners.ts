// Which HTTP listeners the daemon runs, from the config and the command line: the API listener
// (which also serves the metrics unless metrics.listen is set), and metrics.listen's own listener,
// which serves only the metrics. Both use the API's credentials and TLS when they are set.
import { readFileSync } from 'node:fs';
import { sameEndpoint } from '../../core/net/addr.js';
import type { Config } from '../config/schema.js';
import type { MetricsSource } from '../metrics/prometheus.js';
import { type ApiServer, startApiServer } from './server.js';

export interface Listeners {
  readonly api?: ApiServer;
  readonly metrics?: ApiServer;
}

export interface ListenerOverrides {
  /** Whether the API runs (tsvs run --no-api turns it off). */
  readonly apiOn: boolean;
  /** The API's address (tsvs run --api, else api.listen). */
  readonly apiListen: string;
  readonly log: (listener: 'api' | 'metrics', message: string) => void;
}

/** Starts the listeners `cfg` asks for; either both start or neither stays open. */
export async function startListeners(source: MetricsSource, cfg: Config, o: ListenerOverrides): Promise<Listeners> {
  const ownMetrics = cfg.metrics.enabled && cfg.metrics.listen !== undefined;
  if (!o.apiOn && !ownMetrics) return {};
  // The config's validation compares metrics.listen with api.listen; --api can still name it.
  if (o.apiOn && ownMetrics && sameEndpoint(o.apiListen, cfg.metrics.listen!)) {
    throw new Error(`Cannot start the API on ${o.apiListen}: metrics.listen names the same address (leave metrics.listen unset to serve ${cfg.metrics.path} there)`);
  }
  const security = {
    token: cfg.api.token ?? (cfg.api.tokenFile ? readFileSync(cfg.api.tokenFile, 'utf8').trim() : undefined),
    tls: cfg.api.tls ? {
      cert: readFileSync(cfg.api.tls.cert, 'utf8'),
      key: readFileSync(cfg.api.tls.key, 'utf8'),
      clientCa: cfg.api.tls.clientCa ? readFileSync(cfg.api.tls.clientCa, 'utf8') : undefined,
    } : undefined,
  };
  const api = o.apiOn
    ? await startApiServer(source, {
      listen: o.apiListen, ...security, metrics: cfg.metrics.enabled && !ownMetrics, metricsPath: cfg.metrics.path,
      log: (m) => o.log('api', m),
    })
    : undefined;
  if (!ownMetrics) return { api };
  try {
    const metrics = await startApiServer(source, {
      listen: cfg.metrics.listen, ...security, api: false, metrics: true, metricsPath: cfg.metrics.path,
      log: (m) => o.log('metrics', m),
    });
    return { api, metrics };
  } catch (e) {
    await api?.close();
    throw e;
  }
}

