import assert from 'node:assert/strict';
import net from 'node:net';
import { Queue } from 'bullmq';
import { createMetrics } from '../../../shared/metrics';
import { startMetricsServer } from '../../../shared/metrics-server';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';
import { rawRequest } from './http-client';

/** The value of one series in Prometheus text (first exact match), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('Prometheus metrics', function () {
  this.timeout(30_000);

  describe('on a producer with workers', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack();
    });
    afterEach(() => {
      stack.ollama!.faults.reset();
    });
    after(async () => {
      await stack?.close();
    });

    it('GET /metrics shows latency by side and model, tokens in and out, finished conversations and process metrics', async () => {
      const res = await stack.http.post('/conversation', { initialQuery: 'Count me', maxTurns: 2 });
      await waitForConversation(stack, res.data.conversationId);
      const m = await stack.http.get('/metrics', { responseType: 'text' });
      assert.equal(m.status, 200);
      assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const text = m.data as string;
      const model = stack.config.bedrockModelId;
      assert.equal(sample(text, 'llmconv_turn_latency_seconds_count', { side: 'cloud', model }), 2);
      assert.equal(sample(text, 'llmconv_turn_latency_seconds_count', { side: 'local', model: stack.config.ollamaModel }), 2);
      assert.ok(sample(text, 'llmconv_turn_latency_seconds_bucket', { side: 'cloud', le: '+Inf' })! >= 2);
      assert.ok(sample(text, 'llmconv_llm_tokens_total', { side: 'cloud', direction: 'in' })! > 0);
      assert.ok(sample(text, 'llmconv_llm_tokens_total', { side: 'cloud', direction: 'out' })! > 0);
      assert.ok(sample(text, 'llmconv_llm_tokens_total', { side: 'local', direction: 'out' })! > 0);
      assert.equal(sample(text, 'llmconv_conversations_finished_total', { status: 'completed', reason: 'max_turns' }), 1);
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        for (const queue of ['cloud', 'local', 'transcript']) {
          assert.notEqual(sample(text, 'llmconv_queue_jobs', { queue, state }), undefined, `${queue}/${state}`);
        }
      }
      assert.ok(sample(text, 'llmconv_process_cpu_user_seconds_total')! > 0);
      assert.notEqual(sample(text, 'llmconv_nodejs_eventloop_lag_seconds'), undefined);
    });

    it('counts LLM errors by class', async () => {
      // The Ollama client does not retry by itself, so one 500 is one failed call the worker sees.
      stack.ollama!.faults.set({ faults: [{ kind: 'status', status: 500, count: 1 }] });
      const res = await stack.http.post('/conversation', { initialQuery: 'Error once', maxTurns: 1 });
      const view = await waitForConversation(stack, res.data.conversationId);
      assert.equal(view.status, 'completed', 'retried and went on');
      const text = (await stack.http.get('/metrics', { responseType: 'text' })).data as string;
      const line = text.split('\n').find((l) => l.startsWith('llmconv_llm_errors_total{') && l.includes('side="local"'));
      assert.ok(
        line,
        `an error series for the local side in:\n${text
          .split('\n')
          .filter((l) => l.includes('errors'))
          .join('\n')}`,
      );
      assert.match(line, /class="retryable:[a-z_]+"/);
      assert.equal(Number(line.split(' ').pop()), 1);
    });
  });

  describe('on a producer alone', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({}, { roles: [] });
    });
    after(async () => {
      await stack?.close();
    });

    it('reads queue counts at scrape time and counts a cancellation', async () => {
      const res = await stack.http.post('/conversation', { initialQuery: 'Nobody works on this', maxTurns: 1 });
      let text = (await stack.http.get('/metrics', { responseType: 'text' })).data as string;
      assert.equal(sample(text, 'llmconv_queue_jobs', { queue: 'cloud', state: 'waiting' }), 1);
      assert.equal(sample(text, 'llmconv_queue_jobs', { queue: 'transcript', state: 'waiting' }), 0);
      assert.equal((await stack.http.delete(`/conversation/${res.data.conversationId}`)).status, 200);
      text = (await stack.http.get('/metrics', { responseType: 'text' })).data as string;
      assert.equal(sample(text, 'llmconv_conversations_finished_total', { status: 'cancelled', reason: 'cancelled' }), 1);
      assert.equal(sample(text, 'llmconv_queue_jobs', { queue: 'transcript', state: 'waiting' }), 1);
      // A second DELETE is a 409 and is not counted again.
      assert.equal((await stack.http.delete(`/conversation/${res.data.conversationId}`)).status, 409);
      text = (await stack.http.get('/metrics', { responseType: 'text' })).data as string;
      assert.equal(sample(text, 'llmconv_conversations_finished_total', { status: 'cancelled' }), 1);
    });
  });

  it('several registries live in one process; each has its own values', async () => {
    const a = createMetrics({ labels: { role: 'a' }, models: ['m1'] });
    const b = createMetrics({ labels: { role: 'b' } });
    a.hooks.onCall('cloud', 'm1', 250, 10, 20);
    a.hooks.onCallError('local', 'retryable:timeout');
    b.hooks.onTerminal('failed', 'provider_error');
    const ta = await a.metrics();
    const tb = await b.metrics();
    assert.equal(sample(ta, 'llmconv_turn_latency_seconds_sum', { side: 'cloud', model: 'm1', role: 'a' }), 0.25);
    assert.equal(sample(ta, 'llmconv_llm_tokens_total', { direction: 'out' }), 20);
    assert.equal(sample(ta, 'llmconv_llm_errors_total', { side: 'local', class: 'retryable:timeout' }), 1);
    assert.equal(sample(tb, 'llmconv_turn_latency_seconds_count'), undefined);
    assert.equal(sample(tb, 'llmconv_conversations_finished_total', { status: 'failed', role: 'b' }), 1);
    assert.notEqual(sample(tb, 'llmconv_process_resident_memory_bytes'), undefined);
  });

  it('a scrape while Redis is unreachable answers within the bound, without queue series, and counts the failure', async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const queue = new Queue('cloud', {
      connection: {
        host: '127.0.0.1',
        port,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        lazyConnect: true,
      },
    });
    queue.on('error', () => undefined);
    try {
      const metrics = createMetrics({ queues: [queue], collectTimeoutMs: 300, defaultMetrics: false });
      const started = Date.now();
      const text = await metrics.metrics();
      assert.ok(Date.now() - started < 2000, `scrape took ${Date.now() - started} ms`);
      assert.equal(sample(text, 'llmconv_queue_jobs'), undefined);
      assert.equal(sample(text, 'llmconv_metrics_collect_errors_total', { source: 'queues' }), 1);
    } finally {
      await queue.close().catch(() => undefined);
    }
  });

  it('the worker metrics server answers GET /metrics and nothing else', async () => {
    const metrics = createMetrics({ labels: { role: 'worker' } });
    metrics.hooks.onCall('local', 'llama3.2', 40, 5, 6);
    const server = await startMetricsServer({ metrics, port: 0 });
    try {
      const res = await rawRequest(`${server.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.equal(sample(res.body, 'llmconv_llm_tokens_total', { role: 'worker', side: 'local', direction: 'in' }), 5);
      assert.equal((await rawRequest(`${server.url}/other`)).status, 404);
      assert.equal((await rawRequest(`${server.url}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
    await until(
      async () =>
        await rawRequest(`${server.url}/metrics`).then(
          () => false,
          () => true,
        ),
      2000,
      'server closed',
    );
  });
});
