/**
 * The server side of the producer benchmark, run as a child process (`bench/producer-vs-koa.ts`
 * starts one per run), in one of three modes:
 *  - `producer`: the real producer app (`createApp` on a producer connection to the bench Redis, no
 *    workers, so submitted conversations wait in the cloud queue);
 *  - `koa`: a bare Koa app with one `POST /conversation` route that reads and parses the JSON body
 *    and answers the same 202 shape, without validation or Redis — the ratio's denominator;
 *  - `koa+bullmq`: that bare route plus the one thing any BullMQ producer must do, the job add
 *    (`PipelineQueues.enqueueCloud`, same options) — the floor of a queue-backed producer;
 *  - `koa+record+bullmq`: that route writing the conversation record first
 *    (`ConversationStore.create`, the settings of the benchmark's body made once), then adding the
 *    job — the Redis work of `POST /conversation` without its validation and middleware, i.e.
 *    the floor of a producer that answers `GET /conversation/:id` from the moment it said 202.
 * Same process set-up for all: one Node process, one `app.listen` on loopback, logs at info to /dev/null.
 *
 * Protocol: parent → `{type:'start', mode, redisUrl, prefix, body}`; child → `{type:'ready', port}`;
 * parent → `{type:'cpu'}` → `{type:'cpu', cpuMs}`; parent → `{type:'stop'}` → `{type:'stopped'}`.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { createApp } from '../producer/app';
import { parseConversationRequest } from '../conversation/conversation-request';
import { loadConfig } from '../shared/config';
import type { ConversationSettings } from '../conversation/model';
import type { ConversationStore } from '../store/conversation-store';
import type { PipelineQueues } from '../queue/pipeline-queues';
import { openQueues } from '../assembly/queues';
import { openRedis } from '../assembly/redis-connections';
import { buildStores } from '../assembly/stores';
import { Shutdown } from '../assembly/shutdown';
import { createGatewayBackend } from '../providers/create-providers';
import { benchLogger } from './pipeline-rig';

/** Which server to run. */
export type HttpTargetMode = 'koa' | 'koa+bullmq' | 'koa+record+bullmq' | 'producer';

/** What the parent sends to start the server. */
export interface HttpTargetStart {
  type: 'start';
  mode: HttpTargetMode;
  redisUrl: string;
  prefix: string;
  /** The body the load client sends (`koa+record+bullmq` records its settings). */
  body: string;
}

const send = (msg: object, then?: () => void) => process.send?.(msg, undefined, {}, () => then?.());

/**
 * The floors: Koa + @koa/router, body read and parsed, a 202 JSON answer; when given, the record
 * written and the job added, in the producer's order.
 */
function bareKoa(queues?: PipelineQueues, record?: { store: ConversationStore; settings: ConversationSettings }): Koa {
  const app = new Koa();
  const router = new Router();
  router.post('/conversation', async (ctx) => {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const id = randomUUID();
    if (record) await record.store.create(id, { ...record.settings, outputFile: `conversation-${id}.csv` });
    if (queues) await queues.enqueueCloud(id, 1);
    ctx.status = 202;
    ctx.set('Location', `/conversation/${id}`);
    ctx.body = { conversationId: id, status: 'queued', statusUrl: `/conversation/${id}`, transcriptUrl: `/conversation/${id}/transcript` };
  });
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

async function start(msg: HttpTargetStart): Promise<{ port: number; stop: () => Promise<void> }> {
  // Each part registers its close as it is opened (assembly/shutdown.ts); the server is opened last, so closed first.
  const shutdown = new Shutdown();
  let app: Koa;
  if (msg.mode === 'koa') {
    app = bareKoa();
  } else {
    const config = loadConfig({ REDIS_URL: msg.redisUrl, QUEUE_PREFIX: msg.prefix });
    const redis = await openRedis('producer', msg.redisUrl, { stop: shutdown });
    const store = buildStores(redis, config).conversations;
    const queues = openQueues(redis, config, { stop: shutdown });
    if (msg.mode === 'koa+bullmq') app = bareKoa(queues);
    else if (msg.mode === 'koa+record+bullmq')
      app = bareKoa(queues, { store, settings: parseConversationRequest(JSON.parse(msg.body), config, randomUUID()) });
    else
      app = createApp({ config, redis, store, queues, cloud: createGatewayBackend(config, 'http://127.0.0.1:9'), logger: benchLogger() });
  }
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  shutdown.add(
    'http server',
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return { port: (server.address() as AddressInfo).port, stop: () => shutdown.close() };
}

let stop: (() => Promise<void>) | undefined;
process.on('message', (msg: HttpTargetStart | { type: 'cpu' | 'stop' }) => {
  if (msg.type === 'start') {
    start(msg).then(
      (s) => {
        stop = s.stop;
        send({ type: 'ready', port: s.port });
      },
      (err: Error) => send({ type: 'error', message: err.message }, () => process.exit(1)),
    );
  } else if (msg.type === 'cpu') {
    const u = process.cpuUsage();
    send({ type: 'cpu', cpuMs: (u.user + u.system) / 1000 });
  } else if (msg.type === 'stop') {
    void (async () => {
      await stop?.();
      send({ type: 'stopped' }, () => process.exit(0));
    })();
  }
});
process.on('disconnect', () => process.exit(0));
