/**
 * OpenTelemetry traces from a real `npm start` process (stack/main.ts: producer, workers and the
 * in-process API Gateway with the real Lambda handler, against the emulators) to a real OTLP/HTTP
 * receiver on loopback that decodes the exporter's protobuf (test/helpers/otlp). One trace per
 * conversation turn: turn 1 under the `POST /conversation`, each later turn a new trace linked to
 * the step that queued it; inside a turn the parent/child links run producer → queue (bullmq-otel)
 * → worker → model call → (traceparent over HTTP) → Lambda → Bedrock call.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../../helpers/otlp/otlp-receiver';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';
import { until } from '../../helpers/test-stack';
import { type RunningProcess, startProcess } from './processes';

describe('traces: OTLP export of a conversation, one trace per turn', function () {
  this.timeout(90_000);
  let receiver: OtlpReceiver;
  const running: RunningProcess[] = [];
  const dirs: string[] = [];

  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill()));
    await receiver.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  async function startStack(extra: Record<string, string> = {}): Promise<string> {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-traces-'));
    dirs.push(out);
    const proc = startProcess('stack/main.ts', {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix('traces'),
      OUTPUT_DIR: out,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // The batch processor's standard setting: export every 100 ms instead of 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '100',
      ...extra,
    });
    running.push(proc);
    await until(() => /output dir/.test(proc.output()) || proc.child.exitCode !== null, 60_000, 'the start-up banner');
    const url = /producer\s+(http:\/\/\S+)/.exec(proc.output())?.[1];
    assert.ok(url, `banner with the producer URL:\n${proc.output().slice(-2000)}`);
    return url;
  }

  async function converse(url: string, body: Record<string, unknown>): Promise<string> {
    const res = await axios.post(`${url}/conversation`, body, { validateStatus: () => true });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const id = res.data.conversationId as string;
    await until(
      async () => (await axios.get(`${url}/conversation/${id}`)).data.status === 'completed',
      60_000,
      `conversation ${id} completed`,
    );
    return id;
  }

  const one = (spans: ReceivedSpan[], pred: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
    const found = spans.filter(pred);
    assert.equal(found.length, 1, `exactly one ${what}; spans: ${spans.map((s) => `${s.kind} ${s.name}`).join(', ')}`);
    return found[0]!;
  };
  const childOf = (parent: ReceivedSpan) => (s: ReceivedSpan) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId;

  it('two turns: two traces with the right parents, GenAI attributes on every model call, no prompt text by default', async () => {
    const url = await startStack();
    const id = await converse(url, { initialQuery: 'What makes a trace readable?', maxTurns: 2 });
    // Turn 2's local step is the last model call; its span and the transcript job's arrive within a few exports.
    // Every span of both turns: a job's `process` span ends after its model call, so it may come in a later export.
    await until(
      () =>
        receiver.spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat').length >= 6 &&
        receiver.spans.filter((s) => s.name === 'process local').length >= 2 &&
        receiver.spans.filter((s) => s.name === 'process cloud').length >= 2,
      20_000,
      "six model-call spans (two turns × worker cloud, Lambda Bedrock, worker local) and both turns' jobs",
    );
    assert.equal(receiver.rejected, 0, 'every export decoded');
    const spans = receiver.spans;

    // Turn 1: the POST is the root.
    const post = one(spans, (s) => s.kind === 'SERVER' && s.name === 'POST /conversation', 'POST /conversation span');
    assert.equal(post.parentSpanId, '', 'the POST starts its trace');
    assert.equal(post.service, 'llmconv');
    assert.equal(post.attributes['http.response.status_code'], 202);
    const t1 = spans.filter((s) => s.traceId === post.traceId);
    const add1 = one(t1, (s) => s.kind === 'PRODUCER' && s.name === 'add cloud.cloud' && childOf(post)(s), 'add of cloud#1 under the POST');
    const cloud1 = one(t1, (s) => s.kind === 'CONSUMER' && s.name === 'process cloud' && childOf(add1)(s), 'cloud#1 job under its add');
    const chat1 = one(
      t1,
      (s) => s.kind === 'CLIENT' && childOf(cloud1)(s) && s.attributes['gen_ai.provider.name'] === 'aws.bedrock',
      "the worker's cloud call",
    );
    assert.equal(chat1.attributes['gen_ai.conversation.id'], id);
    assert.equal(chat1.attributes['llmconv.turn'], 1);
    assert.ok(String(chat1.attributes['gen_ai.request.model']).length > 0, 'request model');
    assert.equal(chat1.name, `chat ${chat1.attributes['gen_ai.request.model']}`);
    assert.ok(Number(chat1.attributes['gen_ai.usage.input_tokens']) > 0, 'input tokens');
    assert.ok(Number(chat1.attributes['gen_ai.usage.output_tokens']) > 0, 'output tokens');
    assert.ok(Array.isArray(chat1.attributes['gen_ai.response.finish_reasons']), 'finish reasons');
    // traceparent through API Gateway: the Lambda's invocation is a child of the worker's call.
    const lambda1 = one(
      t1,
      (s) => s.kind === 'SERVER' && s.name === 'lambda generate' && childOf(chat1)(s),
      'Lambda invocation under the cloud call',
    );
    assert.equal(lambda1.attributes['faas.trigger'], 'http');
    const bedrock1 = one(t1, (s) => s.kind === 'CLIENT' && childOf(lambda1)(s), 'Bedrock Converse under the Lambda');
    assert.equal(bedrock1.attributes['gen_ai.provider.name'], 'aws.bedrock');
    assert.equal(bedrock1.attributes['gen_ai.usage.output_tokens'], chat1.attributes['gen_ai.usage.output_tokens']);
    const addLocal1 = one(
      t1,
      (s) => s.kind === 'PRODUCER' && s.name === 'add local.local' && childOf(cloud1)(s),
      'add of local#1 from cloud#1',
    );
    const local1 = one(t1, (s) => s.kind === 'CONSUMER' && s.name === 'process local' && childOf(addLocal1)(s), 'local#1 job');
    const ollama1 = one(t1, (s) => s.kind === 'CLIENT' && childOf(local1)(s), 'the local model call');
    assert.equal(ollama1.attributes['gen_ai.provider.name'], 'ollama');
    assert.ok(Number(ollama1.attributes['gen_ai.usage.output_tokens']) > 0);

    // Turn 2: its own trace, rooted in `turn 2`, linked to the local step that queued it.
    const turn2 = one(spans, (s) => s.name === 'turn 2' && s.attributes['gen_ai.conversation.id'] === id, 'turn 2 root');
    assert.equal(turn2.parentSpanId, '', 'turn 2 starts a trace');
    assert.notEqual(turn2.traceId, post.traceId);
    assert.deepEqual(
      turn2.links.map((l) => [l.traceId, l.spanId]),
      [[local1.traceId, local1.spanId]],
      'turn 2 links to the local step of turn 1',
    );
    const t2 = spans.filter((s) => s.traceId === turn2.traceId);
    const add2 = one(t2, (s) => s.name === 'add cloud.cloud' && childOf(turn2)(s), 'add of cloud#2 under turn 2');
    const cloud2 = one(t2, (s) => s.name === 'process cloud' && childOf(add2)(s), 'cloud#2 job');
    const chat2 = one(t2, (s) => s.kind === 'CLIENT' && childOf(cloud2)(s), 'cloud call of turn 2');
    assert.equal(chat2.attributes['llmconv.turn'], 2);
    assert.ok(
      t2.some((s) => s.name === 'lambda generate' && childOf(chat2)(s)),
      'turn 2 reaches the Lambda in its own trace',
    );
    assert.ok(
      t2.some((s) => s.name === 'process local'),
      'turn 2 local step in turn 2 trace',
    );

    // Prompts stay out of spans unless asked for.
    for (const s of spans) {
      assert.equal(s.attributes['gen_ai.input.messages'], undefined, `${s.name} carries no prompt`);
      assert.equal(s.attributes['gen_ai.output.messages'], undefined, `${s.name} carries no answer`);
    }
  });

  it('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true puts the messages on the model-call spans', async () => {
    const url = await startStack({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' });
    await converse(url, { initialQuery: 'Which colour is the sky at noon?', maxTurns: 1 });
    await until(() => receiver.spans.some((s) => s.attributes['gen_ai.provider.name'] === 'ollama'), 20_000, 'the local model call span');
    const cloud = receiver.spans.find((s) => s.kind === 'CLIENT' && s.attributes['gen_ai.provider.name'] === 'aws.bedrock');
    assert.ok(cloud, 'a cloud call span');
    const input = JSON.parse(String(cloud.attributes['gen_ai.input.messages'])) as { role: string; parts: { content: string }[] }[];
    assert.equal(input.at(-1)?.role, 'user');
    assert.match(input.at(-1)!.parts[0]!.content, /sky at noon/);
    assert.ok(String(cloud.attributes['gen_ai.output.messages']).length > 2, 'the answer');
  });
});
