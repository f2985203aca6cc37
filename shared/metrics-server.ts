/**
 * A tiny HTTP server answering `GET /metrics`, `GET /health` and, when given a check, `GET /ready`
 * (200 `{"status":"ready"}` or 503 `{"status":"not_ready","reason":…}`) for processes without a Koa
 * app: the worker processes serve their metrics on METRICS_PORT so a Prometheus scraping the fleet
 * sees every host, and an orchestrator can tell a worker that cannot do its work.
 *
 * @example
 * const server = await startMetricsServer({ metrics, port: config.metricsPort, host: config.host });
 * await server.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PipelineMetrics } from './metrics';

export interface MetricsServerOptions {
  metrics: Pick<PipelineMetrics, 'metrics' | 'contentType'>;
  /** Port; 0 picks a free one. */
  port: number;
  /** Interface. Default `127.0.0.1`. */
  host?: string;
  /** Readiness behind `GET /ready`; without it `/ready` answers like `/health`. */
  ready?: () => Promise<{ ready: boolean; reason?: string }>;
}

export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9464` */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/health' || (path === '/ready' && !opts.ready)) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(path === '/health' ? '{"status":"ok"}' : '{"status":"ready"}');
      return;
    }
    if (path === '/ready') {
      opts.ready!().then(
        (r) =>
          res
            .writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' })
            .end(JSON.stringify(r.ready ? { status: 'ready' } : { status: 'not_ready', reason: r.reason })),
        (err: Error) =>
          res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'not_ready', reason: err.message })),
      );
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    opts.metrics.metrics().then(
      (text) => res.writeHead(200, { 'content-type': opts.metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
