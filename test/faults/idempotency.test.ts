/**
 * Fault 6: duplicates. Concurrent POSTs with one Idempotency-Key — spread over two producer hosts
 * (two apps on their own Redis connections, as two processes would be) — make one conversation:
 * one record, one turn-1 job, one transcript.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios, { type AxiosInstance } from 'axios';
import type { Redis } from 'ioredis';
import { createApp } from '../../producer/app';
import { ConversationStore } from '../../store/conversation-store';
import { PipelineQueues } from '../../queue/pipeline-queues';
import { createProducerConnection, waitReady } from '../../shared/redis-connection';
import { createGatewayBackend } from '../../providers/create-providers';
import { startTestStack, until, type TestStack } from '../helpers/test-stack';
import { checkCompleteTranscript } from './fixtures/transcript-check';

const KEYS = 5;
const PER_KEY = 24;

describe('fault: concurrent duplicate submissions with one Idempotency-Key', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let second: { server: Server; http: AxiosInstance; conn: Redis; queues: PipelineQueues };

  before(async () => {
    stack = await startTestStack();
    const conn = createProducerConnection(stack.redisUrl);
    await waitReady(conn);
    const opts = { prefix: stack.config.queuePrefix, retentionSeconds: stack.config.retentionSeconds };
    const queues = new PipelineQueues(conn, { ...opts, attempts: stack.config.jobAttempts, backoffDelayMs: stack.config.backoffDelayMs });
    const app = createApp({
      config: stack.config,
      redis: conn,
      store: new ConversationStore(conn, opts),
      queues,
      cloud: createGatewayBackend(stack.config),
      logger: stack.logger,
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const http = axios.create({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, validateStatus: () => true });
    second = { server, http, conn, queues };
  });

  after(async () => {
    if (second) {
      await new Promise<void>((r) => {
        second.server.close(() => r());
        second.server.closeAllConnections();
      });
      await second.queues.close();
      await second.conn.quit();
    }
    await stack?.close();
  });

  it(`${KEYS} keys × ${PER_KEY} concurrent POSTs over two producer hosts make exactly ${KEYS} conversations`, async () => {
    const before = (await stack.store.recent(10_000)).length;
    const run = Date.now();
    const answers = await Promise.all(
      Array.from({ length: KEYS * PER_KEY }, (_, i) => {
        const key = `dup-${run}-${i % KEYS}`;
        const http = i % 2 === 0 ? stack.http : second.http;
        return http
          .post('/conversation', { initialQuery: `Exactly once ${i % KEYS}`, maxTurns: 2 }, { headers: { 'Idempotency-Key': key } })
          .then((res) => ({ key, res }));
      }),
    );
    const idsByKey = new Map<string, Set<string>>();
    let created = 0;
    for (const { key, res } of answers) {
      assert.equal(res.status, 202, JSON.stringify(res.data));
      if (res.headers['idempotent-replayed'] !== 'true') created += 1;
      if (!idsByKey.has(key)) idsByKey.set(key, new Set());
      idsByKey.get(key)!.add(res.data.conversationId);
    }
    for (const [key, ids] of idsByKey) assert.equal(ids.size, 1, `key ${key} → one conversation id, got ${[...ids].join(', ')}`);
    const ids = [...idsByKey.values()].map((s) => [...s][0]!);
    assert.equal(new Set(ids).size, KEYS);
    assert.equal(created, KEYS, 'exactly one answer per key created the conversation; the rest were replays');

    // One record each, no stray records left by the losers, one turn-1 job each.
    assert.equal((await stack.store.recent(10_000)).length - before, KEYS, 'one listed conversation per key');
    const records = (await second.conn.keys(`${stack.config.queuePrefix}:conv:*`)).filter((k) => !k.endsWith(':turns'));
    assert.equal(records.length, KEYS, `one record per key in Redis: ${records.join(', ')}`);

    let rowsChecked = 0;
    await until(
      async () => {
        for (const id of ids) if ((await stack.store.get(id))?.status !== 'completed') return false;
        return true;
      },
      30_000,
      'the conversations to complete',
    );
    for (const id of ids) rowsChecked += await checkCompleteTranscript(stack.store, stack.outputDir, id, 2);
    assert.equal(fs.readdirSync(stack.outputDir).filter((f) => f.endsWith('.csv')).length, KEYS, 'one transcript per key');
    console.log(
      `      [figures] idempotency ${JSON.stringify({ posts: answers.length, keys: KEYS, producerHosts: 2, conversationsCreated: created, recordsInRedis: records.length, rowsChecked })}`,
    );

    // A late retry (after completion) still returns the same conversation and starts nothing.
    const late = await second.http.post(
      '/conversation',
      { initialQuery: 'Exactly once 0', maxTurns: 2 },
      { headers: { 'Idempotency-Key': `dup-${run}-0` } },
    );
    assert.equal(late.status, 202);
    assert.equal(late.data.conversationId, ids[0]);
    assert.equal(late.data.status, 'completed');
  });
});
