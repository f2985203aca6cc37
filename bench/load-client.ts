/**
 * A small HTTP load generator, run as its own process so it does not share an event loop with the
 * server it measures: `connections` keep-alive connections (one `http.Agent`), each sending the
 * next POST as soon as the previous answer is read, for a warm-up and then a timed window.
 *
 * Protocol: parent → {@link LoadStart}; child → `{type:'result', ...}` ({@link LoadResult}) and exits.
 */
import http from 'node:http';

export interface LoadStart {
  type: 'start';
  port: number;
  path: string;
  body: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  type: 'result';
  requests: number;
  /** Answers with the expected 2xx status. */
  ok: number;
  /** Statuses seen, by code (and `error` for transport errors). */
  statuses: Record<string, number>;
  durationMs: number;
  requestsPerSec: number;
  latencyMsP50: number;
  latencyMsP99: number;
}

function run(msg: LoadStart): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: msg.connections });
  const body = Buffer.from(msg.body);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let counting = false;
  let stopping = false;
  let requests = 0;
  let ok = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const t = performance.now();
      const req = http.request(
        {
          agent,
          host: '127.0.0.1',
          port: msg.port,
          path: msg.path,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (counting) {
              requests++;
              statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
              if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) ok++;
              latencies.push(performance.now() - t);
            }
            resolve();
          });
        },
      );
      req.on('error', () => {
        if (counting) statuses.error = (statuses.error ?? 0) + 1;
        resolve();
      });
      req.end(body);
    });
  const loop = async () => {
    while (!stopping) await one();
  };
  return new Promise((resolve) => {
    const loops = Array.from({ length: msg.connections }, loop);
    let t0 = 0;
    setTimeout(() => {
      counting = true;
      t0 = performance.now();
      setTimeout(() => {
        counting = false;
        stopping = true;
        const durationMs = performance.now() - t0;
        void Promise.all(loops).then(() => {
          agent.destroy();
          latencies.sort((a, b) => a - b);
          const at = (p: number) =>
            latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))] ?? Number.NaN;
          resolve({
            type: 'result',
            requests,
            ok,
            statuses,
            durationMs,
            requestsPerSec: ok / (durationMs / 1000),
            latencyMsP50: at(50),
            latencyMsP99: at(99),
          });
        });
      }, msg.durationMs);
    }, msg.warmupMs);
  });
}

process.on('message', (msg: LoadStart) => {
  if (msg.type !== 'start') return;
  void run(msg).then((r) => process.send?.(r, undefined, {}, () => process.exit(0)));
});
process.on('disconnect', () => process.exit(0));
