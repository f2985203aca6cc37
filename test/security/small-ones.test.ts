/**
 * Issue 21, part 6 (all but Idempotency-Key), each against the real stack or the real logger:
 * a deeply nested NDJSON `meta`, non-integer query ints, the export route's run id, `/metrics`
 * label cardinality, `/ready`'s error text, and log redaction by pattern (URLs with credentials
 * included).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Koa from 'koa';
import { Redis } from 'ioredis';
import type { AddressInfo } from 'node:net';
import { healthRoutes, NOT_READY_MESSAGE } from '../../producer/routes/health-routes';
import { PipelineQueues } from '../../queue/pipeline-queues';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../shared/embedded-redis';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { MAX_MODEL_LABELS } from '../../shared/model-label';
import { redactUrlsIn } from '../../shared/redact-url';
import { startTestStack, until, waitForConversation, type TestStack } from '../helpers/test-stack';

const ndjson = (rows: unknown[]) => `${rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`;

describe('security: the small ones', function () {
  this.timeout(60_000);
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.close());
  const post = (path: string, body: string) => stack.http.post(path, body, { headers: { 'content-type': 'application/x-ndjson' } });

  it('an NDJSON line with meta nested 4,200 deep is rejected like any bad line; the rest of the upload is kept', async () => {
    const deep = `{"initialQuery":"deep","meta":${'{"a":'.repeat(4200)}1${'}'.repeat(4200)}}`;
    const big = JSON.stringify({ initialQuery: 'big meta', meta: { blob: 'x'.repeat(20_000) } });
    const res = await post(
      '/runs?maxTurns=1',
      ndjson([{ initialQuery: 'first' }, deep, { initialQuery: 'third' }, big, { initialQuery: 'fifth' }]),
    );
    assert.equal(res.status, 202, JSON.stringify(res.data).slice(0, 500));
    assert.equal(res.data.accepted, 3);
    assert.deepEqual(
      res.data.rejectedLines.map((r: { line: number }) => r.line),
      [2, 4],
    );
    assert.match(res.data.rejectedLines[0].reason, /nested deeper than 16 levels/);
    assert.match(res.data.rejectedLines[1].reason, /meta: larger than 16384 bytes/);
    await until(async () => (await stack.http.get(`/runs/${res.data.runId}`)).data.state === 'finished', 20_000, 'the run to finish');
    const view = (await stack.http.get(`/runs/${res.data.runId}`)).data;
    assert.equal(view.byStatus.completed, 3);
    console.log(
      `      [figures] deep-meta ${JSON.stringify({ status: res.status, accepted: res.data.accepted, rejected: res.data.rejected })}`,
    );
  });

  it('?limit=1.5, ?start=1e21 and other non-integers on the listings are 400 naming the parameter', async () => {
    const run = await post('/runs?maxTurns=1', ndjson([{ initialQuery: 'listed' }]));
    const id = run.data.runId as string;
    const cases: [string, string][] = [
      ['/runs?limit=1.5', 'limit'],
      ['/runs?limit=abc', 'limit'],
      ['/runs?limit=0', 'limit'],
      ['/runs?limit=1e3', 'limit'],
      ['/runs?limit=-1', 'limit'],
      [`/runs/${id}/conversations?start=1e21`, 'start'],
      [`/runs/${id}/conversations?start=1.5`, 'start'],
      [`/runs/${id}/conversations?start=-3`, 'start'],
      [`/runs/${id}/conversations?limit=1.5`, 'limit'],
      [`/runs/${id}/conversations?limit=100000`, 'limit'],
      ['/conversations?limit=1.5', 'limit'],
      ['/conversations?limit=1e21', 'limit'],
    ];
    for (const [path, name] of cases) {
      const r = await stack.http.get(path);
      assert.equal(r.status, 400, `${path}: ${r.status} ${JSON.stringify(r.data).slice(0, 200)}`);
      assert.equal(r.data.error.code, 'invalid_request', path);
      assert.match(r.data.error.message, new RegExp(`^${name} must be an integer`), path);
    }
    assert.equal((await stack.http.get('/runs?limit=2')).status, 200);
    assert.equal((await stack.http.get(`/runs/${id}/conversations?start=0&limit=10`)).status, 200);
  });

  it("the export route checks the run id like the other run routes: /runs/nightly%3Aconvs/export does not reach run nightly's keys", async () => {
    const run = await post('/runs?run=nightly&maxTurns=1', ndjson([{ initialQuery: 'nightly seed' }]));
    assert.equal(run.status, 202, JSON.stringify(run.data));
    await until(async () => (await stack.http.get('/runs/nightly')).data.state === 'finished', 20_000, 'run nightly');
    assert.equal((await stack.http.get('/runs/nightly/export?format=openai')).status, 200);
    for (const path of ['/runs/nightly%3Aconvs/export', '/runs/nightly%3Abacklog/export', '/runs/nightly%3Arejected/export']) {
      const r = await stack.http.get(`${path}?format=openai`);
      assert.equal(r.status, 404, `${path}: ${r.status}`);
      assert.equal(r.data.error.code, 'not_found');
      assert.equal((await stack.http.get(path.replace('/export', ''))).status, 404, 'as GET /runs/:id answers');
    }
    assert.equal((await stack.http.get('/conversation/x%3Aturns/export?format=openai')).status, 404);
  });

  it('/metrics labels no caller-chosen model: "../../etc/passwd" is counted as other', async () => {
    const evil = '../../etc/passwd';
    const res = await stack.http.post('/conversation', { initialQuery: 'Label me', maxTurns: 1, cloudModel: evil });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    await waitForConversation(stack, res.data.conversationId);
    const text = (await stack.http.get('/metrics')).data as string;
    assert.ok(!text.includes('etc/passwd'), 'no label carries the path');
    assert.match(text, /llmconv_turn_latency_seconds_count\{[^}]*side="cloud"[^}]*model="other"/);
    // A configured model keeps its own label.
    assert.match(text, new RegExp(`model="${stack.config.ollamaModel.replace(/\./g, '\\.')}"`));
  });

  it('model labels stay bounded even for ids that match a catalogue row by prefix', async () => {
    const m = createMetrics({ defaultMetrics: false, models: ['configured-model'] });
    for (let i = 0; i < 500; i++) m.hooks.onCall('cloud', `anthropic.claude-3-haiku-${i}-junk`, 10, 1, 1);
    m.hooks.onCall('cloud', 'configured-model', 10, 1, 1);
    m.hooks.onCall('local', 'llama3.2\n', 10, 1, 1);
    const labels = new Set([...(await m.metrics()).matchAll(/model="([^"]*)"/g)].map((x) => x[1]));
    assert.ok(labels.size <= MAX_MODEL_LABELS + 2, `${labels.size} labels`);
    assert.ok(labels.has('other') && labels.has('configured-model'));
  });

  describe('/ready and the logs', () => {
    let redis: EmbeddedRedis;
    before(async () => {
      redis = await startEmbeddedRedis();
    });
    after(async () => redis?.stop());

    it('/ready does not echo raw Redis errors to callers: a generic message, the detail in the log', async () => {
      const admin = new Redis(redis.url);
      await admin.call('CONFIG', 'SET', 'requirepass', 'ready-secret');
      admin.disconnect();
      const lines: string[] = [];
      const logger = createLogger({
        level: 'info',
        destination: new Writable({
          write(c, _e, cb) {
            lines.push(String(c));
            cb();
          },
        }),
      });
      // No password: every command answers Redis's own NOAUTH error.
      const conn = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: false });
      conn.on('error', () => undefined);
      const queues = PipelineQueues.fromConfig(conn, {
        queuePrefix: '{ready-test}',
        retentionSeconds: 60,
        jobAttempts: 1,
        backoffDelayMs: 0,
      } as never);
      const app = new Koa();
      const r = healthRoutes(conn, queues, { logger });
      app.use(r.routes());
      const server = app.listen(0, '127.0.0.1');
      await new Promise((res) => server.once('listening', res));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ready`;
        const res = await fetch(url);
        const body = await res.text();
        assert.equal(res.status, 503);
        assert.equal(JSON.parse(body).error.message, NOT_READY_MESSAGE);
        assert.doesNotMatch(body, /NOAUTH|Authentication|ECONN|127\.0\.0\.1|:\d{4,5}/);
        assert.ok(
          lines.some((l) => /readiness check failed/.test(l) && /NOAUTH|Authentication|timeout|writeable/i.test(l)),
          `the detail is logged: ${lines.join('')}`,
        );
      } finally {
        server.close();
        await queues.close().catch(() => undefined);
        conn.disconnect();
      }
    });

    it('redacts by key pattern and never logs a URL with credentials', () => {
      const lines: string[] = [];
      const logger = createLogger({
        level: 'trace',
        destination: new Writable({
          write(c, _e, cb) {
            lines.push(String(c));
            cb();
          },
        }),
      });
      const secrets = [
        'S1-api-key',
        'S2-aws-secret',
        'S3-amz-token',
        'S4-url-pass',
        'S5-msg-pass',
        'S6-err-pass',
        'S7-query-key',
        'S8-session',
        'S9-deep',
        'S10-bearer',
        'S11-passwd',
      ];
      logger.info(
        {
          api_key: secrets[0],
          env: { AWS_SECRET_ACCESS_KEY: secrets[1] },
          headers: { 'x-amz-security-token': secrets[2] },
          inputTokens: 12,
          maxTokens: 34,
        },
        'keys',
      );
      logger.warn(
        { redisUrl: `redis://default:${secrets[3]}@cache.example:6379` },
        `connecting to rediss://:${secrets[4]}@cache.example:6380 failed`,
      );
      logger.error({ err: new Error(`GET https://user:${secrets[5]}@api.example/x?api_key=${secrets[6]} failed`) }, 'request failed');
      logger
        .child({ AWS_SESSION_TOKEN: secrets[7] })
        .info(
          { a: { b: { c: { d: { e: { Authorization: `Bearer ${secrets[9]}` } } } } }, deep: { x: { y: { client_secret: secrets[8] } } } },
          'nested',
        );
      logger.info({ db: { PASSWD: secrets[10] } }, 'passwd');
      const all = lines.join('');
      for (const s of secrets) assert.ok(!all.includes(s), `${s} leaked:\n${lines.find((l) => l.includes(s))}`);
      // Token counts are not secrets; the URLs are still readable.
      assert.match(all, /"inputTokens":12/);
      assert.match(all, /"maxTokens":34/);
      assert.match(all, /redis:\/\/default:\*\*\*@cache\.example:6379/);
      assert.equal(
        redactUrlsIn('https://tok@h.example/p?X-Amz-Signature=abc&page=2'),
        'https://***@h.example/p?X-Amz-Signature=***&page=2',
      );
    });
  });
});
