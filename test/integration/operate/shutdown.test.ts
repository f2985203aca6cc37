import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { testRedisUrl } from '../../helpers/redis';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';
import { rawRequest } from './http-client';
import { startProcess, type RunningProcess } from './processes';

/** Bound of the processes' shutdown (shared/shutdown.ts default). */
const SHUTDOWN_TIMEOUT_MS = 15_000;

describe('graceful shutdown of real processes (SIGTERM)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  const running: RunningProcess[] = [];
  const start = (entry: string, env: Record<string, string>) => {
    const p = startProcess(entry, env);
    running.push(p);
    return p;
  };

  before(async () => {
    // Producer and emulators in this process; the workers run as separate OS processes.
    stack = await startTestStack({}, { roles: [] });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill()));
    stack.ollama!.faults.reset();
  });
  after(async () => {
    await stack?.close();
  });

  function workerEnv(): Record<string, string> {
    return {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: stack.config.queuePrefix,
      OLLAMA_HOST: stack.ollama!.url,
      BEDROCK_ENDPOINT: stack.bedrock!.url,
      OUTPUT_DIR: stack.outputDir,
      METRICS_PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      LOCK_DURATION_MS: '5000',
      STALLED_INTERVAL_MS: '2000',
      BACKOFF_DELAY_MS: '50',
    };
  }

  async function activeJobs(): Promise<number> {
    const counts = await Promise.all(stack.queues.all.map((q) => q.getJobCounts('active')));
    return counts.reduce((n, c) => n + (c.active ?? 0), 0);
  }

  it('a worker stopped mid-turn lets the call finish, leaves no job active, and the next worker completes the conversation', async () => {
    stack.ollama!.faults.set({ latencyMs: 1500 });
    const first = start('workers/main.ts', workerEnv());
    const ready = await first.waitForLog((l) => l.msg === 'worker ready');
    const metricsUrl = String(ready.metrics);

    const res = await stack.http.post('/conversation', { initialQuery: 'Survive a restart', maxTurns: 2 });
    const id = res.data.conversationId as string;
    // Turn 1's local call is in flight in the worker process.
    await until(
      async () => (await stack.queues.local.getJobCounts('active')).active === 1 && stack.ollama!.stats().calls >= 1,
      10_000,
      'local call in flight',
    );

    // The worker's own metrics port already counts the recorded cloud step.
    const scraped = await rawRequest(metricsUrl);
    assert.equal(scraped.status, 200);
    const cloudCount = scraped.body
      .split('\n')
      .find((l) => l.startsWith('llmconv_turn_latency_seconds_count{') && l.includes('side="cloud"') && l.includes('role="worker"'));
    assert.ok(cloudCount?.endsWith(' 1'), `worker metrics: ${cloudCount}`);

    const signalled = Date.now();
    first.child.kill('SIGTERM');
    const exit = await first.exited;
    assert.equal(exit.code, 0, first.output().slice(-2000));
    assert.ok(exit.at - signalled < SHUTDOWN_TIMEOUT_MS, `exited after ${exit.at - signalled} ms`);
    assert.ok(first.logs.some((l) => /^shutting down/.test(String(l.msg)) && l.signal === 'SIGTERM'));
    assert.ok(first.logs.some((l) => l.msg === 'stopped'));

    assert.equal(await activeJobs(), 0, 'no job left active');
    // The call in flight finished and was recorded; the next step waits for a worker.
    const mid = (await stack.http.get(`/conversation/${id}`)).data;
    assert.equal(mid.status, 'running');
    assert.equal(mid.turns[0].ollamaResponse !== null, true, 'turn 1 was completed before the worker exited');
    assert.equal((await stack.queues.cloud.getJobCounts('waiting')).waiting, 1);

    stack.ollama!.faults.reset();
    const second = start('workers/main.ts', workerEnv());
    await second.waitForLog((l) => l.msg === 'worker ready');
    const view = await waitForConversation(stack, id, 20_000);
    assert.equal(view.status, 'completed');
    assert.equal(view.turnsCompleted, 2);
    const rows = parse(fs.readFileSync(view.transcriptFile, 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((r) => r.turn),
      ['1', '2'],
      'each turn once',
    );

    second.child.kill('SIGINT');
    assert.equal((await second.exited).code, 0);
  });

  it('a producer ends its live SSE streams and exits promptly', async () => {
    const producer = start('producer/main.ts', {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: stack.config.queuePrefix,
      PORT: '0',
      HOST: '127.0.0.1',
      BEDROCK_ENDPOINT: stack.bedrock!.url,
      LOG_LEVEL: 'info',
    });
    const listening = await producer.waitForLog((l) => l.msg === 'producer listening');
    const url = String(listening.url);
    const res = await fetch(`${url}/conversation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ initialQuery: 'Nobody answers', maxTurns: 1 }),
    });
    const { conversationId } = (await res.json()) as { conversationId: string };
    const stream = await fetch(`${url}/conversation/${conversationId}/events`);
    const reader = (stream.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    assert.match(Buffer.from((await reader.next()).value!).toString('utf8'), /retry: 3000|event: snapshot/);

    const signalled = Date.now();
    producer.child.kill('SIGTERM');
    // The stream ends (without an `end` event: the client reconnects elsewhere) ...
    for (let r = await reader.next(); !r.done; r = await reader.next()) assert.doesNotMatch(Buffer.from(r.value).toString(), /event: end/);
    const exit = await producer.exited;
    assert.equal(exit.code, 0, producer.output().slice(-2000));
    // ... well before the 5 s fallback that force-closes connections.
    assert.ok(exit.at - signalled < 4000, `exited after ${exit.at - signalled} ms`);
  });

  it('the local API Gateway host and the emulators stop on SIGTERM even with a call hanging', async () => {
    const gateway = start('lambda/main.ts', {
      GATEWAY_PORT: '0',
      HOST: '127.0.0.1',
      BEDROCK_ENDPOINT: stack.bedrock!.url,
      LOG_LEVEL: 'info',
    });
    const emulators = start('emulators/main.ts', {
      BEDROCK_EMULATOR_PORT: '0',
      OLLAMA_EMULATOR_PORT: '0',
      OPENAI_EMULATOR_PORT: '0',
      EMULATOR_FAULTS: 'hang:1',
    });
    await until(() => /Local API Gateway: http/.test(gateway.output()), 20_000, 'gateway up');
    await until(() => /Ollama emulator:\s+http/.test(emulators.output()), 20_000, 'emulators up');
    const ollamaUrl = /Ollama emulator:\s+(http\S+)/.exec(emulators.output())![1]!;
    // A model call that never gets an answer.
    const hanging = rawRequest(`${ollamaUrl}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false }),
    }).catch((err: Error) => err);
    await until(async () => /"calls":1/.test((await rawRequest(`${ollamaUrl}/_emulator/stats`)).body), 5000, 'call hanging');

    const signalled = Date.now();
    gateway.child.kill('SIGTERM');
    emulators.child.kill('SIGTERM');
    const [g, e] = await Promise.all([gateway.exited, emulators.exited]);
    assert.equal(g.code, 0, gateway.output());
    assert.equal(e.code, 0, emulators.output());
    assert.ok(Math.max(g.at, e.at) - signalled < 5000, `stopped after ${Math.max(g.at, e.at) - signalled} ms`);
    assert.ok((await hanging) instanceof Error, 'the hanging call was cut');
  });
});
