/**
 * A producer for the bounds tests: the real producer (operator surface, event hub, routes) on the
 * test run's Redis with its own prefix, its `/api/v1/generate` going through a counting TCP
 * forwarder to the local API Gateway host running the real Lambda handler, which calls the Bedrock
 * emulator (with injected latency). No workers: a conversation stays `queued`, so a wait lasts.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { loadConfig, type Env } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../emulators/bedrock-emulator';
import { startInProcessGateway } from '../../lambda/in-process-gateway';
import type { LocalGateway } from '../../lambda/local-gateway';
import { startProducer, type StartedProducer } from '../../producer/start-producer';
import { testRedisUrl, uniquePrefix } from '../helpers/redis';

/** A TCP forwarder that counts the connections open through it. */
export interface Forwarder {
  url: string;
  /** Connections open now. */
  open(): number;
  close(): Promise<void>;
}

export async function startForwarder(target: URL): Promise<Forwarder> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    sockets.add(c);
    const u = net.connect(Number(target.port), target.hostname);
    c.pipe(u).pipe(c);
    const done = () => {
      sockets.delete(c);
      c.destroy();
      u.destroy();
    };
    c.on('close', done).on('error', done);
    u.on('close', done).on('error', done);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname.replace(/\/$/, '')}`,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface BoundsProducer {
  producer: StartedProducer;
  url: string;
  bedrock: BedrockEmulatorHandle;
  forwarder: Forwarder;
  redis: Redis;
  prefix: string;
  /** Lines the producer logged (JSON), newest last. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startBoundsProducer(env: Env = {}, bedrockLatencyMs = 0): Promise<BoundsProducer> {
  const prefix = uniquePrefix('bounds');
  const redisUrl = env.REDIS_URL ?? testRedisUrl();
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const bedrock = await startBedrockEmulator({ latencyMs: bedrockLatencyMs });
  const base = loadConfig({ REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, PORT: '0', LOG_LEVEL: 'debug', ...env });
  const gateway: LocalGateway = await startInProcessGateway({
    config: { ...base, bedrockEndpoint: bedrock.url },
    logger: createLogger({ level: 'silent' }),
  });
  const forwarder = await startForwarder(new URL(gateway.url));
  const config = { ...base, apiGatewayUrl: forwarder.url };
  const producer = await startProducer({ config, logger, closeGraceMs: 0 });
  const redis = new Redis(redisUrl);
  return {
    producer,
    url: producer.url,
    bedrock,
    forwarder,
    redis,
    prefix,
    logs,
    async close() {
      await producer.close();
      await forwarder.close();
      await gateway.close();
      await bedrock.close();
      redis.disconnect();
    },
  };
}

/** A request the test can hang up on: resolves `response` with status, headers and body when the server answers. */
export function openRequest(base: string, route: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  const req = http.request(new URL(route, base), {
    method: opts.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
  });
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
  response.catch(() => undefined);
  if (opts.body !== undefined) req.end(opts.body);
  else if ((opts.method ?? 'POST') !== 'GET') req.end();
  else req.end();
  return { req, response, hangUp: () => req.destroy() };
}

/** The value of one series in the producer's /metrics (0 when absent). */
export async function metric(base: string, name: string, labels: string): Promise<number> {
  const res = await fetch(new URL('/metrics', base));
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

/**
 * Redis commands that name `prefix` (any argument), seen through MONITOR while `during` runs, so
 * what other tests sharing the Redis do is not counted. Returns them as `COMMAND first-key` lines.
 */
export async function commandsOn(redis: Redis, prefix: string, during: () => Promise<unknown>): Promise<string[]> {
  const monitor = await redis.monitor();
  const seen: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.some((a) => a.includes(prefix))) seen.push(`${args[0]} ${args.find((a) => a.includes(prefix))}`);
  });
  try {
    await during();
  } finally {
    monitor.disconnect();
  }
  return seen;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
