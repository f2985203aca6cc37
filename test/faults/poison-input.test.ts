/**
 * Fault 5: poison input. Over a thousand random and malformed inputs (seeded: FAULT_SEED replays a
 * run) at `POST /conversation`, `POST /api/v1/generate` (real producer over HTTP) and the Lambda
 * handler (direct proxy events, and raw bodies through the local API Gateway host). Expected:
 * no answer of 5xx, no crash, no file written outside OUTPUT_DIR, no prototype pollution.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createHandler } from '../../lambda/handler';
import type { ProxyEvent } from '../../lambda/proxy-types';
import { isTerminal } from '../../conversation/model';
import { createLogger } from '../../shared/logger';
import { startTestStack, until, type TestStack } from '../helpers/test-stack';
import { poisonHttpCase, poisonLambdaEvent, randomString, type HttpCase } from './fixtures/poison';
import { faultSeed, seededRandom } from './fixtures/seeded-random';

const PER_ROUTE = { conversation: 450, generate: 300 };
const LAMBDA_EVENTS = 300;
const GATEWAY_BODIES = 100;

interface Answer {
  status: number;
  body: string;
  error?: string;
}

/** A raw HTTP POST: exact bytes and headers, no client-side help. */
function rawPost(base: string, route: string, c: HttpCase, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const url = new URL(route, base);
    const headers: Record<string, string | number> = { 'content-length': c.body.length, ...c.headers };
    if (c.contentType !== undefined) headers['content-type'] = c.contentType;
    const req = http.request(url, { method: 'POST', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve({ status: res.statusCode ?? 0, body: '', error: err.message }));
    });
    req.on('error', (err) => resolve({ status: 0, body: '', error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(c.body);
  });
}

/** Runs `fn` over `items` with at most `width` in flight. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Every file below `dir` (not following links), as absolute paths. */
function walk(dir: string, maxDepth = 8): string[] {
  if (maxDepth < 0) return [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full, maxDepth - 1) : [full];
  });
}

describe('fault: poison input at the producer and the Lambda', function () {
  this.timeout(120_000);
  const seed = faultSeed(4005);
  const marker = `poison-${seed}-${process.pid}`;
  let sandbox: string;
  let outputDir: string;
  let stack: TestStack;
  const logLines: string[] = [];

  before(async function () {
    this.timeout(30_000);
    // OUTPUT_DIR is two levels inside a sandbox, so an escape by ../ or ../../ lands where we look.
    sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-poison-'));
    outputDir = path.join(sandbox, 'a', 'out');
    fs.mkdirSync(outputDir, { recursive: true });
    const destination = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    stack = await startTestStack(
      { OUTPUT_DIR: outputDir, LOG_LEVEL: 'warn', MAX_BODY_BYTES: '65536' },
      { logger: createLogger({ level: 'warn', destination }) },
    );
  });

  after(async function () {
    this.timeout(30_000);
    await stack?.close();
    if (sandbox) fs.rmSync(sandbox, { recursive: true, force: true });
  });

  it('1,150 random and malformed inputs: no 5xx, no crash, no file outside OUTPUT_DIR', async () => {
    const rnd = seededRandom(seed);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const byKind: Record<string, Record<number | string, number>> = {};
    const count = (target: string, kind: string, status: number | string) => {
      const k = `${target}:${kind}`;
      byKind[k] ??= {};
      byKind[k][status] = (byKind[k][status] ?? 0) + 1;
    };
    const serverErrors: string[] = [];
    const accepted: string[] = [];
    let sent = 0;

    // The producer's two JSON routes, over real HTTP.
    for (const [route, n] of Object.entries(PER_ROUTE) as ['conversation' | 'generate', number][]) {
      const cases = Array.from({ length: n }, () => poisonHttpCase(rnd, route, marker));
      const pathOf = route === 'conversation' ? '/conversation' : '/api/v1/generate';
      await pool(cases, 8, async (c) => {
        const a = await rawPost(stack.producerUrl!, pathOf, c, agent);
        sent += 1;
        count(route, c.kind, a.status || a.error!);
        if (a.status >= 500 || a.status === 0) serverErrors.push(`${route} ${c.kind} → ${a.status || a.error} ${a.body.slice(0, 300)}`);
        if (a.status >= 400 && a.status < 500)
          assert.match(a.body, /^\{"error":\{"code":"[a-z_]+","message":/, `JSON error body for ${c.kind}`);
        if (route === 'conversation' && a.status === 202) accepted.push(JSON.parse(a.body).conversationId);
      });
    }

    // The Lambda handler, called directly with events API Gateway would never send, too.
    const handler = createHandler({ config: { ...stack.config, bedrockEndpoint: stack.bedrock!.url }, logger: stack.logger });
    for (let i = 0; i < LAMBDA_EVENTS; i++) {
      const { kind, event } = poisonLambdaEvent(rnd);
      const result = await handler(event as ProxyEvent, { awsRequestId: `poison-${i}`, getRemainingTimeInMillis: () => 10_000 });
      sent += 1;
      assert.ok(result && Number.isInteger(result.statusCode) && typeof result.body === 'string', `${kind}: a proxy result`);
      count('lambda', kind, result.statusCode);
      if (result.statusCode >= 500)
        serverErrors.push(`lambda ${kind} → ${result.statusCode} ${Buffer.from(result.body, 'base64').toString('utf8').slice(0, 300)}`);
    }
    // And raw bodies through the local API Gateway host (binary and text content types).
    const gatewayCases: HttpCase[] = Array.from({ length: GATEWAY_BODIES }, () => {
      const raw = rnd() < 0.5 ? rnd.bytes(rnd.int(1500)) : Buffer.from(randomString(rnd, rnd.int(600)));
      return {
        kind: 'gateway-raw',
        body: raw,
        contentType: rnd.pick(['application/x-protobuf', 'application/octet-stream', 'text/plain', 'application/json', undefined]),
      };
    });
    await pool(gatewayCases, 8, async (c) => {
      const a = await rawPost(stack.gatewayUrl, '/', c, agent);
      sent += 1;
      count('gateway', `${c.kind}:${c.contentType ?? 'none'}`, a.status || a.error!);
      if (a.status >= 500 || a.status === 0) serverErrors.push(`gateway ${c.contentType} → ${a.status || a.error} ${a.body.slice(0, 300)}`);
    });
    agent.destroy();

    // Accepted conversations finish and write their transcripts (the files we check below).
    await until(
      async () => {
        for (const id of accepted) {
          const r = await stack.store.get(id);
          if (!isTerminal(r?.status) || !r?.transcriptPath) return false;
        }
        return true;
      },
      60_000,
      'accepted poison conversations to finish',
    );

    // Still alive and well: health, and a normal conversation completes.
    assert.equal((await stack.http.get('/health')).status, 200);
    const ok = await stack.http.post('/conversation', { initialQuery: 'After the poison', maxTurns: 1 });
    assert.equal(ok.status, 202);
    accepted.push(ok.data.conversationId);
    await until(
      async () => (await stack.store.get(ok.data.conversationId))?.status === 'completed',
      20_000,
      'a normal conversation after the poison',
    );

    // No file outside OUTPUT_DIR: everything under the sandbox is a plain .csv directly in OUTPUT_DIR,
    // and no file carrying the marker exists in the likely escape targets.
    const sandboxFiles = walk(sandbox);
    const outside = sandboxFiles.filter((f) => path.dirname(f) !== outputDir || !f.endsWith('.csv'));
    const places = [os.tmpdir(), process.cwd(), path.dirname(sandbox), '/', os.homedir()];
    const escaped = places.flatMap((p) => walk(p, 0)).filter((f) => f.includes(marker));
    for (const id of accepted) assert.equal(path.dirname((await stack.store.get(id))!.transcriptPath!), outputDir);
    const errorLogs = logLines.filter((l) => /"level":(50|60)/.test(l));
    const polluted = ({} as Record<string, unknown>).polluted;

    const statuses: Record<string, number> = {};
    for (const per of Object.values(byKind)) for (const [s, n] of Object.entries(per)) statuses[s] = (statuses[s] ?? 0) + n;
    const figures = {
      seed,
      inputsSent: sent,
      producerConversation: PER_ROUTE.conversation,
      producerGenerate: PER_ROUTE.generate,
      lambdaEvents: LAMBDA_EVENTS,
      gatewayBodies: GATEWAY_BODIES,
      kinds: Object.keys(byKind).length,
      statuses,
      answers5xx: serverErrors.length,
      acceptedConversations: accepted.length,
      filesInOutputDir: sandboxFiles.length,
      filesOutside: outside.length + escaped.length,
      errorLogLines: errorLogs.length,
    };
    console.log(`      [figures] poison-input ${JSON.stringify(figures)}`);
    if (process.env.POISON_DEBUG) console.log(JSON.stringify(byKind, null, 1));
    assert.deepEqual(serverErrors, [], 'no 5xx answer and no dropped connection');
    assert.deepEqual(outside, [], 'nothing in the sandbox outside OUTPUT_DIR');
    assert.deepEqual(escaped, [], 'no marker file anywhere we looked');
    assert.equal(polluted, undefined, 'no prototype pollution');
    assert.deepEqual(errorLogs, [], 'no error-level log (an error log means a 500 or a crash path)');
    assert.ok(sent >= 1000);
  });
});
