/**
 * The producer refuses what Bedrock would refuse, before anything is stored or spent
 * (conversation/model-admission.ts), from the model catalogue and AWS_REGION: the real Koa app on
 * loopback, real Redis.
 *
 * Facts (shared/model-catalog.json, read 2026-12-02): Claude 3 Haiku
 * (`anthropic.claude-3-haiku-20240307-v1:0`) reached end of life on 2026-09-10 in most regions
 * (Bedrock Legacy lifecycle page; Bedrock then answers ResourceNotFoundException "This model
 * version has reached the end of its life"), is still active in ca-central-1, eu-central-2 and
 * sa-east-1 and Legacy in ap-northeast-2 (issue 20, from the AWS model card); Claude Opus 4.1 is
 * Legacy with end of life on 2027-01-08.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios, { type AxiosInstance } from 'axios';
import pino from 'pino';
import type { Redis } from 'ioredis';
import { createApp } from '../../producer/app';
import { createGatewayBackend } from '../../providers/create-providers';
import { PipelineQueues } from '../../queue/pipeline-queues';
import { loadConfig } from '../../shared/config';
import { createProducerConnection, waitReady } from '../../shared/redis-connection';
import { ConversationStore } from '../../store/conversation-store';
import { testRedisUrl, uniquePrefix } from '../helpers/redis';

const HAIKU3 = 'anthropic.claude-3-haiku-20240307-v1:0';
const OPUS41 = 'us.anthropic.claude-opus-4-1-20250805-v1:0';

interface Producer {
  http: AxiosInstance;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** A producer (no workers: nothing is called) for `region`, logging into `logs`. */
async function startProducer(redis: Redis, env: Record<string, string>): Promise<Producer> {
  // API_GATEWAY_URL: a closed port; no worker runs, so nothing is ever called.
  const config = loadConfig({
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: uniquePrefix('adm'),
    LOG_LEVEL: 'info',
    API_GATEWAY_URL: 'http://127.0.0.1:9',
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(l));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const store = new ConversationStore(redis, { prefix: config.queuePrefix, retentionSeconds: 60 });
  const queues = new PipelineQueues(redis, { prefix: config.queuePrefix, attempts: 1, backoffDelayMs: 0, retentionSeconds: 60 });
  const app = createApp({ config, redis, store, queues, cloud: createGatewayBackend(config), logger });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const http = axios.create({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, validateStatus: () => true });
  return {
    http,
    logs,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await queues.close();
    },
  };
}

const ndjson = (...lines: object[]) => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
const runHeaders = (options?: object) => ({
  headers: { 'content-type': 'application/x-ndjson', ...(options ? { 'run-options': JSON.stringify(options) } : {}) },
  transformRequest: [(d: unknown) => d],
});

describe('producer: models the catalogue says Bedrock refuses (model_end_of_life, Legacy warnings, unpriced USD budgets)', function () {
  this.timeout(30_000);
  let redis: Redis;
  let east: Producer;
  let canada: Producer;
  let seoul: Producer;

  before(async () => {
    redis = createProducerConnection(testRedisUrl());
    await waitReady(redis);
    east = await startProducer(redis, { AWS_REGION: 'us-east-1' });
    canada = await startProducer(redis, { AWS_REGION: 'ca-central-1' });
    seoul = await startProducer(redis, { AWS_REGION: 'ap-northeast-2' });
  });
  after(async () => {
    await Promise.all([east, canada, seoul].map((p) => p?.close()));
    redis?.disconnect();
  });

  it('POST /conversation: a model end-of-life in AWS_REGION is a 400 naming it, its end-of-life date and the replacement', async () => {
    const res = await east.http.post('/conversation', { initialQuery: 'Hi?', cloudModel: HAIKU3 });
    assert.equal(res.status, 400, JSON.stringify(res.data));
    assert.equal(res.data.error.code, 'model_end_of_life');
    const m = res.data.error.message as string;
    for (const part of [
      HAIKU3,
      '2026-09-10',
      'us-east-1',
      'anthropic.claude-haiku-4-5-20251001-v1:0',
      'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    ])
      assert.ok(m.includes(part), `${part} in: ${m}`);
    // Any entry of a fallback list, named by its index.
    const list = await east.http.post('/conversation', { initialQuery: 'Hi?', cloudModel: ['amazon.nova-micro-v1:0', `us.${HAIKU3}`] });
    assert.equal(list.status, 400);
    assert.equal(list.data.error.code, 'model_end_of_life');
    assert.match(
      list.data.error.message,
      /cloudModel\[1\]: us\.anthropic\.claude-3-haiku-20240307-v1:0 \(Claude 3 Haiku\) reached end of life on 2026-09-10/,
    );
  });

  it('the same model where it is still active is accepted (202, no warnings)', async () => {
    const res = await canada.http.post('/conversation', { initialQuery: 'Hi?', cloudModel: HAIKU3 });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    assert.equal(res.data.warnings, undefined);
  });

  it('a Legacy model is accepted with a warning in the 202 and a log line', async () => {
    for (const [p, model, region] of [
      [seoul, HAIKU3, 'ap-northeast-2'],
      [east, OPUS41, 'us-east-1'],
    ] as const) {
      const res = await p.http.post('/conversation', { initialQuery: 'Hi?', cloudModel: model });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      assert.equal(res.data.warnings.length, 1);
      assert.ok(
        res.data.warnings[0].includes(`${model} (`) && res.data.warnings[0].includes(`is Legacy in ${region}`),
        res.data.warnings[0],
      );
      const line = p.logs.find((l) => l.conversationId === res.data.conversationId);
      assert.ok(line && line.level === 40 && String(line.msg).includes('Legacy'), JSON.stringify(p.logs.at(-1)));
    }
    const opus = await east.http.post('/conversation', { initialQuery: 'Hi?', cloudModel: OPUS41 });
    assert.match(opus.data.warnings[0], /end of life on 2027-01-08.*use anthropic\.claude-opus-4-8/);
  });

  it('a USD budget on a model with no price is a 400 naming the model and MODEL_CATALOG_FILE; a token budget is fine', async () => {
    const model = 'acme.unpriced-model-v1';
    const res = await east.http.post('/conversation', { initialQuery: 'Hi?', cloudModel: model, budget: { usd: 1 } });
    assert.equal(res.status, 400, JSON.stringify(res.data));
    assert.equal(res.data.error.code, 'price_unknown');
    assert.match(res.data.error.message, /budget\.usd: .*acme\.unpriced-model-v1 has none in the model catalogue.*MODEL_CATALOG_FILE/);
    assert.equal((await east.http.post('/conversation', { initialQuery: 'Hi?', cloudModel: model, budget: { tokens: 1000 } })).status, 202);
    assert.equal(
      (await east.http.post('/conversation', { initialQuery: 'Hi?', budget: { usd: 1 } })).status,
      202,
      'the default model is priced',
    );
  });

  it('POST /runs: an end-of-life run model or an unpriced one with a USD run budget is a 400; a seed naming one is a rejected line; Legacy warns', async () => {
    const eol = await east.http.post('/runs', ndjson({ initialQuery: 'a' }), runHeaders({ cloudModel: HAIKU3 }));
    assert.equal(eol.status, 400, JSON.stringify(eol.data));
    assert.equal(eol.data.error.code, 'model_end_of_life');
    assert.match(eol.data.error.message, /^invalid run option: cloudModel: .*2026-09-10.*anthropic\.claude-haiku-4-5-20251001-v1:0/);
    const unpriced = await east.http.post(
      '/runs',
      ndjson({ initialQuery: 'a' }),
      runHeaders({ cloudModel: 'acme.unpriced-model-v1', runBudget: { usd: 5 } }),
    );
    assert.equal(unpriced.status, 400);
    assert.equal(unpriced.data.error.code, 'price_unknown');
    assert.match(unpriced.data.error.message, /runBudget\.usd: .*acme\.unpriced-model-v1.*MODEL_CATALOG_FILE/);
    const mixed = await east.http.post(
      '/runs?maxTurns=1',
      ndjson({ initialQuery: 'ok' }, { initialQuery: 'old', cloudModel: HAIKU3 }, { initialQuery: 'legacy', cloudModel: OPUS41 }),
      runHeaders(),
    );
    assert.equal(mixed.status, 202, JSON.stringify(mixed.data));
    assert.equal(mixed.data.accepted, 2);
    assert.equal(mixed.data.rejected, 1);
    assert.equal(mixed.data.rejectedLines[0].line, 2);
    assert.match(
      mixed.data.rejectedLines[0].reason,
      /cloudModel: anthropic\.claude-3-haiku-20240307-v1:0 \(Claude 3 Haiku\) reached end of life on 2026-09-10/,
    );
    assert.equal(mixed.data.warnings.length, 1);
    assert.match(mixed.data.warnings[0], /us\.anthropic\.claude-opus-4-1-20250805-v1:0 .* is Legacy in us-east-1/);
    assert.ok(east.logs.some((l) => l.runId === mixed.data.runId && l.level === 40));
    const active = await canada.http.post('/runs?maxTurns=1', ndjson({ initialQuery: 'a' }), runHeaders({ cloudModel: HAIKU3 }));
    assert.equal(active.status, 202, JSON.stringify(active.data));
  });

  it('POST /estimate: an end-of-life model is a 400, a Legacy one carries the warning', async () => {
    const eol = await east.http.post('/estimate', { seeds: ['a'], cloudModel: HAIKU3 });
    assert.equal(eol.status, 400);
    assert.equal(eol.data.error.code, 'model_end_of_life');
    const legacy = await east.http.post('/estimate', { seeds: ['a'], cloudModel: OPUS41 });
    assert.equal(legacy.status, 200, JSON.stringify(legacy.data));
    assert.match(legacy.data.warnings[0], /is Legacy in us-east-1/);
    assert.equal((await canada.http.post('/estimate', { seeds: ['a'], cloudModel: HAIKU3 })).status, 200);
  });

  it("BEDROCK_MODEL_ID itself end-of-life: a conversation naming no model is refused naming the setting's model", async () => {
    const old = await startProducer(redis, { AWS_REGION: 'eu-west-1', BEDROCK_MODEL_ID: HAIKU3 });
    try {
      const res = await old.http.post('/conversation', { initialQuery: 'Hi?' });
      assert.equal(res.status, 400);
      assert.equal(res.data.error.code, 'model_end_of_life');
      assert.match(res.data.error.message, /anthropic\.claude-3-haiku-20240307-v1:0 .* in eu-west-1/);
    } finally {
      await old.close();
    }
  });
});
