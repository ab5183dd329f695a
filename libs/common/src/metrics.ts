import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The service's Prometheus metrics, in one registry. Plain module-level
 * objects so the ledger's SQL functions and the processors can count without
 * injection; /metrics renders the registry.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

/** Prometheus text on GET /metrics from a bare HTTP server: for processes without the API (workers). */
export function serveMetrics(port: number, host = '0.0.0.0'): Promise<Server | null> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metricsRegistry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metricsRegistry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  // A second worker on the same host finds the port taken: it runs on, without its own endpoint.
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen(port, host, () => resolve(server));
  });
}

export const httpRequests = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests by method, route and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
});

export const httpDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request latency by method and route',
  labelNames: ['method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});

export const ledgerOperations = new Counter({
  name: 'ledger_operations_total',
  help: 'Ledger operations by type (reserve, settle, release, grant, ...) and outcome (ok, or the error code)',
  labelNames: ['type', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const reservationAge = new Histogram({
  name: 'reservation_age_seconds',
  help: 'Age of a reservation when it is settled, released or expired',
  labelNames: ['status'] as const,
  buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 86400],
  registers: [metricsRegistry],
});

export const queueJobs = new Counter({
  name: 'queue_jobs_total',
  help: 'Jobs finished per queue and outcome (completed, failed)',
  labelNames: ['queue', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const providerRequests = new Histogram({
  name: 'provider_request_duration_seconds',
  help: 'Image provider calls (all attempts of one generation) by provider and outcome',
  labelNames: ['provider', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [metricsRegistry],
});

export const webhookDeliveries = new Counter({
  name: 'webhook_deliveries_total',
  help: 'Outgoing webhook delivery attempts by outcome (delivered, failed, refused)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

export interface CountableQueue {
  name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** The queues each running app registers (one per process normally; several in tests). */
export const countedQueues = new Set<CountableQueue>();

export const queueDepth = new Gauge({
  name: 'queue_jobs_waiting',
  help: 'Jobs per queue and state (waiting, active, delayed, failed), read from Redis at scrape time',
  labelNames: ['queue', 'state'] as const,
  registers: [metricsRegistry],
  async collect() {
    for (const q of countedQueues) {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed').catch(() => null);
      for (const [state, n] of Object.entries(counts ?? {})) this.set({ queue: q.name, state }, n);
    }
  },
});
