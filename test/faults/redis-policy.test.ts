/**
 * Fault 7: a Redis that may evict keys. BullMQ loses jobs under eviction, so a worker host must
 * refuse to start on any `maxmemory-policy` but `noeviction` — also on managed Redis where CONFIG
 * is disabled (ElastiCache, Memorystore: the policy is then read from INFO) — and warn loudly when
 * the policy cannot be read at all. Each case runs against its own real redis-server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { ConversationStore } from '../../store/conversation-store';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../shared/embedded-redis';
import { PipelineError } from '../../shared/errors';
import { createLogger } from '../../shared/logger';
import { PipelineQueues } from '../../queue/pipeline-queues';
import { checkEvictionPolicy, createWorkerConnection, waitReady } from '../../shared/redis-connection';
import { loadConfig } from '../../shared/config';
import { CancelRegistry } from '../../coordination/cancel-registry';
import { createGatewayBackend, createOllamaBackend } from '../../providers/create-providers';
import { startWorkerHost } from '../../workers/worker-host';
import { uniquePrefix } from '../helpers/redis';

const ROOT = path.resolve(__dirname, '..', '..');

/** Starts a worker host in this process against `url`; returns what it logged and how it ended. */
async function tryStartHost(url: string): Promise<{ error?: Error; lines: string[] }> {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _e, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const config = loadConfig({
    REDIS_URL: url,
    QUEUE_PREFIX: uniquePrefix('policy'),
    API_GATEWAY_URL: 'http://127.0.0.1:9',
    OLLAMA_HOST: 'http://127.0.0.1:9',
  });
  const conn: Redis = createWorkerConnection(url);
  conn.on('error', () => undefined);
  await waitReady(conn);
  const queues = new PipelineQueues(conn, { prefix: config.queuePrefix, attempts: 1, backoffDelayMs: 0, retentionSeconds: 60 });
  const deps = {
    config,
    logger,
    queues,
    cancels: new CancelRegistry(),
    store: new ConversationStore(conn, { prefix: config.queuePrefix, retentionSeconds: 60 }),
    cloud: createGatewayBackend(config),
    local: createOllamaBackend(config),
  };
  try {
    const host = await startWorkerHost({ deps, connection: conn, roles: ['cloud', 'local', 'transcript'] });
    await host.close(2000);
    return { lines };
  } catch (error) {
    return { error: error as Error, lines };
  } finally {
    await queues.close().catch(() => undefined);
    conn.disconnect();
  }
}

describe('fault: Redis with a maxmemory-policy other than noeviction', function () {
  this.timeout(60_000);
  const servers: EmbeddedRedis[] = [];
  const redis = async (args: string[]) => {
    const r = await startEmbeddedRedis({ args });
    servers.push(r);
    return r;
  };
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('the worker host refuses to start on allkeys-lru, naming the policy and the fix', async () => {
    const r = await redis(['--maxmemory-policy', 'allkeys-lru']);
    const { error } = await tryStartHost(r.url);
    assert.ok(error instanceof PipelineError, `refused: ${error?.message}`);
    assert.equal(error.code, 'redis_misconfigured');
    assert.match(error.message, /maxmemory-policy is "allkeys-lru"/);
    assert.match(error.message, /noeviction/);
  });

  it('the worker process (npm run worker) exits 1 with that message and takes no job', async () => {
    const r = await redis(['--maxmemory-policy', 'volatile-ttl']);
    const prefix = uniquePrefix('policy');
    // A job waiting for a local worker: it must still be waiting after the refused start.
    const conn = createWorkerConnection(r.url);
    const queues = new PipelineQueues(conn, { prefix, attempts: 1, backoffDelayMs: 0, retentionSeconds: 60 });
    await queues.enqueueLocal('00000000-0000-4000-8000-000000000000', 1);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers', 'main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REDIS_URL: r.url,
        QUEUE_PREFIX: prefix,
        WORKER_ROLES: 'local,transcript',
        OLLAMA_HOST: 'http://127.0.0.1:9',
        METRICS_PORT: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    assert.equal(code, 1, out);
    assert.match(out, /maxmemory-policy is "volatile-ttl"/);
    assert.match(out, /CONFIG SET maxmemory-policy noeviction/);
    const counts = await queues.local.getJobCounts('waiting', 'active', 'completed', 'failed');
    await queues.close();
    conn.disconnect();
    assert.deepEqual(counts, { waiting: 1, active: 0, completed: 0, failed: 0 }, 'the refused worker took no job');
    console.log(
      `      [figures] redis-policy ${JSON.stringify({ policy: 'volatile-ttl', exitCode: code, message: out.trim().split('\n').at(-1)!.slice(0, 160) })}`,
    );
  });

  it('on managed Redis with CONFIG disabled, the policy is read from INFO and still refused', async () => {
    // ElastiCache's default policy is volatile-lru, and it disables CONFIG.
    const r = await redis(['--maxmemory-policy', 'volatile-lru', '--rename-command', 'CONFIG', '']);
    const conn = createWorkerConnection(r.url);
    try {
      assert.deepEqual(await checkEvictionPolicy(conn), { ok: false, policy: 'volatile-lru' });
    } finally {
      conn.disconnect();
    }
    const { error } = await tryStartHost(r.url);
    assert.ok(error instanceof PipelineError, `refused: ${error?.message}`);
    assert.match(error.message, /maxmemory-policy is "volatile-lru"/);
  });

  it('with CONFIG disabled and noeviction, it starts (read from INFO, no warning)', async () => {
    const r = await redis(['--rename-command', 'CONFIG', '']);
    const { error, lines } = await tryStartHost(r.url);
    assert.equal(error, undefined);
    assert.ok(!lines.some((l) => /maxmemory-policy/.test(l) && /"level":40/.test(l)), 'no warning');
  });

  it('where the policy cannot be read at all, it warns loudly before anything else', async () => {
    // A user that may run neither CONFIG nor INFO (BullMQ itself needs INFO, so start-up then fails too).
    const r = await redis(['--user', 'default', 'on', 'nopass', '~*', '&*', '+@all', '-config', '-info']);
    const { lines } = await tryStartHost(r.url);
    const warning = lines.find((l) => /maxmemory-policy/.test(l));
    assert.ok(warning, `a warning about the policy: ${lines.join('')}`);
    assert.match(warning, /"level":40/);
    assert.match(warning, /MUST be \\"noeviction\\"/);
  });
});
