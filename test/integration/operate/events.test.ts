import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { ApiClient } from '../../../cli/api-client';
import type { SseMessage } from '../../../cli/sse-reader';
import { createApp } from '../../../producer/app';
import { startOperatorSurface, type OperatorSurface } from '../../../producer/operator-surface';
import type { ConversationView, EndEventData, StepEventData } from '../../../api/http-contract';
import { loadConfig } from '../../../shared/config';
import { ConversationStore } from '../../../store/conversation-store';
import { startEmbeddedRedis } from '../../../shared/embedded-redis';
import { silentLogger } from '../../../shared/logger';
import { PipelineQueues } from '../../../queue/pipeline-queues';
import { encodeCloudStep, stepField } from '../../../store/record-codec';
import { createProducerConnection, waitReady } from '../../../shared/redis-connection';
import { createGatewayBackend } from '../../../providers/create-providers';
import { uniquePrefix } from '../../helpers/redis';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';

interface Arrival extends SseMessage {
  at: number;
}

/** Reads the whole stream (until the server closes it), noting when each event arrived. */
async function collect(api: ApiClient, id: string, onEvent?: (m: SseMessage) => void | Promise<void>): Promise<Arrival[]> {
  const out: Arrival[] = [];
  for await (const m of api.events(id)) {
    out.push({ ...m, at: Date.now() });
    await onEvent?.(m);
  }
  return out;
}

describe('GET /conversation/:id/events (Server-Sent Events)', function () {
  this.timeout(30_000);

  describe('with workers', () => {
    let stack: TestStack;
    let api: ApiClient;
    before(async () => {
      stack = await startTestStack();
      api = new ApiClient({ url: stack.producerUrl! });
    });
    afterEach(() => {
      stack.ollama!.faults.reset();
    });
    after(async () => {
      await stack?.close();
    });

    it('streams the snapshot, each step as it is recorded, then the terminal state, and closes', async () => {
      stack.ollama!.faults.set({ latencyMs: 150 });
      const res = await stack.http.post('/conversation', { initialQuery: 'Stream me', maxTurns: 3 });
      const id = res.data.conversationId as string;
      const events = await collect(api, id);

      const names = events.map((e) =>
        e.event === 'cloud' || e.event === 'local' ? `${e.event}:${(JSON.parse(e.data) as StepEventData).turn}` : e.event,
      );
      assert.equal(names[0], 'snapshot');
      assert.deepEqual(
        names.filter((n) => n.includes(':')),
        ['cloud:1', 'local:1', 'cloud:2', 'local:2', 'cloud:3', 'local:3'],
      );
      assert.equal(names.at(-1), 'end', 'the terminal state comes last, then the server closes');

      const step = JSON.parse(events.find((e) => e.event === 'local')!.data) as StepEventData;
      assert.equal(step.model, stack.config.ollamaModel);
      assert.ok(step.latencyMs >= 150 && step.outputTokens > 0 && step.inputTokens > 0);
      assert.match(step.text, /emulated ollama/i);
      const cloud1 = JSON.parse(events.find((e) => e.event === 'cloud')!.data) as StepEventData;
      assert.equal(cloud1.question, 'Stream me');

      const end = JSON.parse(events.at(-1)!.data) as EndEventData;
      assert.equal(end.status, 'completed');
      assert.equal(end.stopReason, 'max_turns');
      assert.equal(end.view.turnsCompleted, 3);
      assert.equal(end.transcriptUrl, `/conversation/${id}/transcript`);
      // Live, not replayed at the end: the first turn arrived well before the last.
      const first = events.find((e) => e.event === 'local')!.at;
      assert.ok(events.at(-1)!.at - first >= 250, `events spread over ${events.at(-1)!.at - first} ms`);
    });

    it('a finished conversation gets its snapshot and end at once', async () => {
      const res = await stack.http.post('/conversation', { initialQuery: 'Already done', maxTurns: 1 });
      const id = res.data.conversationId as string;
      await waitForConversation(stack, id);
      const events = await collect(api, id);
      assert.deepEqual(
        events.map((e) => e.event),
        ['snapshot', 'end'],
      );
      assert.equal((JSON.parse(events[0]!.data) as ConversationView).turns.length, 1);
      assert.equal((JSON.parse(events[1]!.data) as EndEventData).status, 'completed');
    });

    it('a conversation cancelled while streaming ends with "cancelled"', async () => {
      stack.ollama!.faults.set({ latencyMs: 1500 });
      const res = await stack.http.post('/conversation', { initialQuery: 'Cancel me', maxTurns: 5 });
      const id = res.data.conversationId as string;
      const events = await collect(api, id, async (m) => {
        if (m.event === 'cloud') await stack.http.delete(`/conversation/${id}`);
      });
      const end = JSON.parse(events.at(-1)!.data) as EndEventData;
      assert.equal(events.at(-1)!.event, 'end');
      assert.equal(end.status, 'cancelled');
      assert.equal(events.filter((e) => e.event === 'local').length, 0, 'the follow-up in flight was aborted');
    });

    it('answers 404 for unknown and malformed ids', async () => {
      for (const id of ['0b7e2c0e-3c1a-4b9e-9f00-000000000000', 'not-an-id', '..%2F..%2Fetc']) {
        const res = await stack.http.get(`/conversation/${id}/events`);
        assert.equal(res.status, 404, id);
        assert.equal(res.data.error.code, 'not_found');
      }
    });
  });

  it('a producer starting while Redis is down does not wait for it; live events flow once Redis is back', async () => {
    const own = await startEmbeddedRedis();
    const conn = createProducerConnection(own.url);
    conn.on('error', () => undefined);
    let operations: OperatorSurface | undefined;
    let queues: PipelineQueues | undefined;
    try {
      await waitReady(conn);
      await own.kill();
      const config = loadConfig({ QUEUE_PREFIX: uniquePrefix() });
      const store = new ConversationStore(conn, { prefix: config.queuePrefix, retentionSeconds: 60 });
      queues = new PipelineQueues(conn, { prefix: config.queuePrefix, attempts: 1, backoffDelayMs: 0, retentionSeconds: 60 });
      for (const q of queues.all) q.on('error', () => undefined);
      const started = Date.now();
      operations = await startOperatorSurface({ config, redis: conn, store, queues, logger: silentLogger, subscribeTimeoutMs: 300 });
      assert.ok(Date.now() - started < 2000, `start-up waited ${Date.now() - started} ms`);

      const got: string[] = [];
      operations.hub.subscribe('c-1', (ev) => got.push(ev.type));
      await own.restart();
      await waitReady(conn, 10_000);
      // The subscriber connects and subscribes by itself; publish until it hears.
      await until(
        async () => {
          await conn.publish(store.eventsChannel, JSON.stringify({ type: 'cloud', conversationId: 'c-1', turn: 1 }));
          return got.length > 0;
        },
        10_000,
        'an event after Redis came back',
      );
      assert.equal(got[0], 'cloud');
    } finally {
      await operations?.close();
      await queues?.close().catch(() => undefined);
      conn.disconnect();
      await own.stop();
    }
  });

  describe('fan-out, heartbeats, catch-up and clean-up (own producer, fast heartbeat)', () => {
    let stack: TestStack;
    let redis: Redis;
    let ops: OperatorSurface;
    let queues: PipelineQueues;
    let server: Server;
    let url: string;
    const HEARTBEAT_MS = 150;

    before(async () => {
      stack = await startTestStack({}, { roles: [] });
      redis = createProducerConnection(stack.redisUrl);
      await waitReady(redis);
      const store = new ConversationStore(redis, { prefix: stack.config.queuePrefix, retentionSeconds: 60 });
      queues = new PipelineQueues(redis, { prefix: stack.config.queuePrefix, attempts: 1, backoffDelayMs: 0, retentionSeconds: 60 });
      // Two streams at most (SSE_MAX_STREAMS), so the cap can be reached.
      ops = await startOperatorSurface({
        config: { ...stack.config, sseMaxStreams: 2 },
        redis,
        store,
        queues,
        logger: silentLogger,
        heartbeatMs: HEARTBEAT_MS,
      });
      const app = createApp({
        config: stack.config,
        redis,
        store,
        queues,
        cloud: createGatewayBackend(stack.config),
        logger: silentLogger,
        before: ops.before,
        routers: ops.routers,
      });
      server = await new Promise<Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      server?.closeAllConnections();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      await ops?.close();
      await queues?.close();
      await redis?.quit();
      await stack?.close();
    });

    it('sends heartbeat comments, catches up a step whose event was lost, and fans out to every client', async () => {
      // No workers here: the test plays the worker, writing to the store.
      const res = await stack.http.post('/conversation', { initialQuery: 'Quiet one', maxTurns: 2 });
      const id = res.data.conversationId as string;

      const raw = await fetch(`${url}/conversation/${id}/events`);
      assert.equal(raw.status, 200);
      assert.match(String(raw.headers.get('content-type')), /^text\/event-stream/);
      assert.equal(raw.headers.get('cache-control'), 'no-cache, no-transform');
      const api = new ApiClient({ url });
      const second = collect(api, id);
      await until(() => ops.hub.size === 2, 3000, 'two listeners');

      // A step recorded without its pub/sub event (as if the subscriber was reconnecting).
      const step = {
        question: 'Quiet one',
        answer: 'caught up',
        model: 'm',
        inputTokens: 1,
        outputTokens: 2,
        latencyMs: 3,
        stopReason: 'end_turn',
        startedAt: Date.now(),
        at: Date.now(),
      };
      const record = (await stack.store.get(id))!;
      await redis.hset(
        `${stack.config.queuePrefix}:conv:{${id}}:turns`,
        stepField('cloud', 1),
        encodeCloudStep(step, { ...record.settings, createdAt: record.createdAt }),
      );

      const reader = (raw.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      let text = '';
      const deadline = Date.now() + 3000;
      while (!(text.includes(': ping') && text.includes('caught up')) && Date.now() < deadline) {
        const { value, done } = await reader.next();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
      }
      assert.match(text, /^retry: 3000\n\nevent: snapshot\n/);
      assert.match(text, /\n: ping \d{4}-/);
      assert.match(text, /event: cloud\ndata: \{[^\n]*"text":"caught up"/);

      // The end reaches both clients, and both streams close.
      await stack.store.finish(id, 'failed', 'internal_error', 'test ends it');
      while (!text.includes('event: end')) {
        const { value, done } = await reader.next();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
      }
      assert.match(text, /event: end\ndata: \{"conversationId":"[^"]+","status":"failed"/);
      assert.equal((await reader.next()).done, true, 'the server closed the stream');
      const events = await second;
      assert.deepEqual(
        events.map((e) => e.event),
        ['snapshot', 'cloud', 'end'],
      );
      await until(() => ops.hub.size === 0, 3000, 'listeners removed');
    });

    it('answers 503 too_many_streams beyond SSE_MAX_STREAMS, and serves again once a stream closes', async () => {
      const res = await stack.http.post('/conversation', { initialQuery: 'Crowded', maxTurns: 2 });
      const id = res.data.conversationId as string;
      const controllers = [new AbortController(), new AbortController()];
      for (const ac of controllers) assert.equal((await fetch(`${url}/conversation/${id}/events`, { signal: ac.signal })).status, 200);
      await until(() => ops.hub.size === 2, 3000, 'two listeners');
      const refused = await fetch(`${url}/conversation/${id}/events`);
      assert.equal(refused.status, 503);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After is set');
      const body = (await refused.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'too_many_streams');
      assert.match(body.error.message, /SSE_MAX_STREAMS/);
      assert.equal(ops.hub.size, 2, 'the refused request left no listener behind');
      controllers[0]!.abort();
      await until(() => ops.hub.size === 1, 3000, 'one listener after a client left');
      const again = new AbortController();
      assert.equal((await fetch(`${url}/conversation/${id}/events`, { signal: again.signal })).status, 200);
      controllers[1]!.abort();
      await until(() => ops.hub.size === 1, 3000, 'one listener');
      // An unknown id is refused without keeping the free slot.
      for (let i = 0; i < 3; i++)
        assert.equal((await fetch(`${url}/conversation/00000000-0000-4000-8000-000000000000/events`)).status, 404);
      again.abort();
      await until(() => ops.hub.size === 0, 3000, 'listeners removed');
      assert.equal(
        await fetch(`${url}/conversation/${id}/events`, { signal: AbortSignal.timeout(2000) }).then((r) => {
          void r.body?.cancel();
          return r.status;
        }),
        200,
        'slots were released',
      );
    });

    it('removes the listener when the client goes away', async () => {
      const res = await stack.http.post('/conversation', { initialQuery: 'Leave early', maxTurns: 2 });
      const ac = new AbortController();
      const raw = await fetch(`${url}/conversation/${res.data.conversationId}/events`, { signal: ac.signal });
      assert.equal(raw.status, 200);
      await until(() => ops.hub.size === 1, 3000, 'one listener');
      ac.abort();
      await until(() => ops.hub.size === 0, 3000, 'listener removed after the client left');
    });
  });
});
