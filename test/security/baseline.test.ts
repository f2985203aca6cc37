/**
 * Security properties of DESIGN invariant 6, each against the real running stack:
 * API_KEY protects the producer; bodies over MAX_BODY_BYTES get 413 (also streamed without a
 * length); `outputFile` never leaves OUTPUT_DIR; CSV cells a spreadsheet would run are neutralised
 * (and the switch works); and no secret reaches a log line, even at trace level.
 * (Bull Board's gate is tested in test/operate.test.ts; SigV4 against a verifier beside the client.)
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { loadConfig } from '../../shared/config';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../shared/embedded-redis';
import { createLogger } from '../../shared/logger';
import { describeStack } from '../../stack/describe-stack';
import { uniquePrefix } from '../helpers/redis';
import { startTestStack, until, waitForConversation, type TestStack } from '../helpers/test-stack';
import { readCsv, waitFinished } from '../faults/fixtures/transcript-check';

/** Streams `size` bytes as a chunked body (no Content-Length) and returns the status, or the socket error. */
function chunkedPost(
  base: string,
  route: string,
  size: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      new URL(route, base),
      { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers } },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, body: '', error: (err as NodeJS.ErrnoException).code ?? err.message }));
    const chunk = Buffer.alloc(16 * 1024, 'a');
    let sent = 0;
    req.write('{"initialQuery":"');
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end('"}');
    };
    pump();
  });
}

describe('security: API key, body limits, output paths, CSV formulas, secrets in logs', function () {
  this.timeout(90_000);

  describe('with API_KEY set', () => {
    const key = 'sk-producer-0123456789abcdef';
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ API_KEY: key, MAX_BODY_BYTES: '4096' });
    });
    after(async () => stack?.close());

    it('answers 401 without or with a wrong key, 2xx with the right one; /health and /ready stay open', async () => {
      const body = { initialQuery: 'Authorised?', maxTurns: 1 };
      const denied = [
        await stack.http.post('/conversation', body),
        await stack.http.post('/conversation', body, { headers: { 'x-api-key': 'wrong' } }),
        await stack.http.post('/conversation', body, { headers: { 'x-api-key': `${key}x` } }),
        await stack.http.post('/conversation', body, { headers: { authorization: `Bearer ${key.slice(0, -1)}` } }),
        await stack.http.post('/conversation', body, { headers: { authorization: `Basic ${Buffer.from(`u:${key}`).toString('base64')}` } }),
        await stack.http.post(`/conversation?api_key=${key}`, body),
        await stack.http.post('/api/v1/generate', { inputText: 'hi' }),
        await stack.http.get('/conversation/00000000-0000-4000-8000-000000000000'),
        await stack.http.delete('/conversation/00000000-0000-4000-8000-000000000000'),
      ];
      for (const res of denied) {
        assert.equal(res.status, 401, `${res.config.method} ${res.config.url}`);
        assert.equal(res.data.error.code, 'unauthorized');
        assert.ok(!JSON.stringify(res.data).includes(key), 'the key is never echoed');
      }
      // Auth runs before the body is read: an oversized body without a key is a 401, not a 413.
      assert.equal((await chunkedPost(stack.producerUrl!, '/conversation', 64 * 1024)).status, 401);

      const a = await stack.http.post('/conversation', body, { headers: { 'x-api-key': key } });
      const b = await stack.http.post('/conversation', body, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(a.status, 202);
      assert.equal(b.status, 202);
      assert.equal((await stack.http.get(`/conversation/${a.data.conversationId}`, { headers: { 'x-api-key': key } })).status, 200);
      assert.equal((await stack.http.post('/api/v1/generate', { inputText: 'hi' }, { headers: { 'x-api-key': key } })).status, 200);
      assert.equal((await stack.http.get('/health')).status, 200);
      assert.equal((await stack.http.get('/ready')).status, 200);
      console.log(`      [figures] api-key ${JSON.stringify({ denied: denied.length + 1, allowed: 4, openProbes: 2 })}`);
    });

    it('reads take Basic auth with the key as password (a browser asks once for the page); writes never do', async () => {
      const basic = (pass: string) => ({ authorization: `Basic ${Buffer.from(`anyone:${pass}`).toString('base64')}` });
      const created = await stack.http.post(
        '/conversation',
        { initialQuery: 'Seen from a browser', maxTurns: 1 },
        { headers: { 'x-api-key': key } },
      );
      const id = created.data.conversationId as string;

      // Without credentials, a read is challenged so a browser asks: Basic first, Bearer for programs.
      const page = await stack.http.get(`/conversations/${id}`);
      assert.equal(page.status, 401);
      const challenge = ([] as string[]).concat(page.headers['www-authenticate'] ?? []).join(' | ');
      assert.match(challenge, /^Basic realm="llmconv"/);
      assert.match(challenge, /Bearer realm="llmconv"/);
      assert.match(page.data.error.message, /Basic auth with the key as the password/);

      // With them, the page, its JSON, its live stream and its CSV are served.
      assert.equal((await stack.http.get(`/conversations/${id}`, { headers: basic(key) })).status, 200);
      assert.equal((await stack.http.get(`/conversation/${id}`, { headers: basic(key) })).status, 200);
      const events = new AbortController();
      const stream = await fetch(`${stack.producerUrl}/conversation/${id}/events`, { headers: basic(key), signal: events.signal });
      assert.equal(stream.status, 200);
      assert.match(String(stream.headers.get('content-type')), /^text\/event-stream/);
      events.abort();
      assert.equal((await stack.http.get(`/conversation/${id}/transcript`, { headers: basic(key) })).status, 200);

      // A wrong password is refused, and Basic never authorises a write.
      assert.equal((await stack.http.get(`/conversation/${id}`, { headers: basic(`${key}x`) })).status, 401);
      const del = await stack.http.delete(`/conversation/${id}`, { headers: basic(key) });
      assert.equal(del.status, 401);
      assert.equal(del.headers['www-authenticate'], 'Bearer realm="llmconv"', 'no Basic challenge on a write');
      assert.equal((await stack.http.post('/api/v1/generate', { inputText: 'hi' }, { headers: basic(key) })).status, 401);
    });

    it('answers 413 for a body over MAX_BODY_BYTES, declared or streamed, on both JSON routes', async () => {
      const headers = { 'x-api-key': key };
      const results: Record<string, number | string> = {};
      for (const route of ['/conversation', '/api/v1/generate']) {
        const field = route === '/conversation' ? 'initialQuery' : 'inputText';
        const declared = await stack.http.post(route, { [field]: 'x'.repeat(5000) }, { headers });
        assert.equal(declared.status, 413, `${route} declared`);
        assert.equal(declared.data.error.code, 'payload_too_large');
        // Streamed without Content-Length, 10 MB: the server stops reading and still answers 413.
        const streamed = await chunkedPost(stack.producerUrl!, route, 10 * 1024 * 1024, headers);
        results[`${route} declared`] = declared.status;
        results[`${route} chunked 10MB`] = streamed.status || streamed.error!;
        assert.equal(streamed.status, 413, `${route} chunked: ${streamed.error ?? streamed.body}`);
        assert.match(streamed.body, /payload_too_large/);
      }
      // The server is fine afterwards.
      assert.equal((await stack.http.post('/conversation', { initialQuery: 'small', maxTurns: 1 }, { headers })).status, 202);
      console.log(`      [figures] body-limit ${JSON.stringify(results)}`);
    });

    it("rejects outputFile names that leave OUTPUT_DIR, keeps the seed's absolute path as a bare name", async () => {
      const headers = { 'x-api-key': key };
      const evil = [
        '../x.csv',
        '../../etc/cron.d/x',
        'a/../../x.csv',
        '..\\..\\x.csv',
        './../x.csv',
        '.hidden.csv',
        'x\u0000.csv',
        '%2e%2e%2fx.csv',
        '..',
        'CON:x',
        `${'a'.repeat(200)}.csv`,
        'x\n.csv',
      ];
      for (const outputFile of evil) {
        const res = await stack.http.post('/conversation', { initialQuery: 'traversal', outputFile, maxTurns: 1 }, { headers });
        assert.equal(res.status, 400, `${JSON.stringify(outputFile)} → ${res.status}`);
        assert.match(res.data.error.message, /outputFile/);
      }
      const ok = await stack.http.post(
        '/conversation',
        { initialQuery: 'seed path', outputFile: '/opt/conversation-client/seed-path.csv', maxTurns: 1 },
        { headers },
      );
      assert.equal(ok.status, 202);
      const record = await waitFinished(stack.store, ok.data.conversationId);
      assert.equal(record.transcriptPath, path.join(stack.outputDir, 'seed-path.csv'));
      console.log(`      [figures] output-file ${JSON.stringify({ rejectedNames: evil.length })}`);
    });
  });

  describe('CSV formula injection', () => {
    const DANGEROUS = [
      '=HYPERLINK("http://evil.example","click")',
      '+1+1',
      '-2+3',
      '@SUM(A1:A2)',
      '\t=1',
      '\r=1',
      ' =1+1',
      '  @cmd',
      '\u00a0=1',
      '\n-1',
    ];
    let stack: TestStack;
    let raw: TestStack;
    before(async () => {
      stack = await startTestStack();
      raw = await startTestStack({ CSV_ESCAPE_FORMULAS: 'false' });
    });
    after(async () => {
      await stack?.close();
      await raw?.close();
    });

    it('neutralises every dangerous leading character in the written and the served CSV (and the switch turns it off)', async () => {
      // Turn 1's query is the initialQuery; turn 2's query starts with the template's "-".
      const nextQuery = '-{{followUp}}';
      const submit = async (s: TestStack, q: string) =>
        (await s.http.post('/conversation', { initialQuery: q, maxTurns: 2, templates: { nextQuery } })).data.conversationId as string;
      const ids = await Promise.all(DANGEROUS.map((q) => submit(stack, q)));
      let cells = 0;
      for (const [i, id] of ids.entries()) {
        const view = await waitForConversation(stack, id);
        assert.equal(view.status, 'completed');
        const served = parse((await stack.http.get(`/conversation/${id}/transcript`)).data, { columns: true }) as Record<string, string>[];
        for (const rows of [readCsv(view.transcriptFile), served]) {
          assert.equal(rows[0]!.query, `'${DANGEROUS[i]}`, `initialQuery ${JSON.stringify(DANGEROUS[i])} neutralised`);
          assert.ok(rows[1]!.query!.startsWith("'-"), 'templated query neutralised');
          for (const r of rows)
            for (const v of Object.values(r)) assert.doesNotMatch(v, /^\s*[=+\-@\t\r]/, `no live formula: ${JSON.stringify(v)}`);
          cells += rows.length * Object.keys(rows[0]!).length;
        }
      }
      // With CSV_ESCAPE_FORMULAS=false the text is written as given.
      const rawId = await submit(raw, DANGEROUS[0]!);
      const rawView = await waitForConversation(raw, rawId);
      assert.equal(readCsv(rawView.transcriptFile)[0]!.query, DANGEROUS[0]);
      console.log(
        `      [figures] csv-formulas ${JSON.stringify({ conversations: ids.length, dangerousPrefixes: DANGEROUS.length, cellsChecked: cells })}`,
      );
    });
  });

  describe('secrets in logs', () => {
    const secrets = {
      API_KEY: 'sk-prod-SECRET-api-key-7f3a9c',
      API_GATEWAY_API_KEY: 'gw-SECRET-usage-plan-key-51e2',
      BOARD_USERNAME: 'board-admin',
      BOARD_PASSWORD: 'board-SECRET-password-9d8e',
      REDIS_PASSWORD: 'redis-SECRET-password-c4b1',
    };
    const lines: string[] = [];
    let redis: EmbeddedRedis;
    let stack: TestStack;
    let banner = '';

    before(async () => {
      // A Redis that needs a password, given in REDIS_URL as deployments do.
      redis = await startEmbeddedRedis();
      const admin = new Redis(redis.url);
      await admin.call('CONFIG', 'SET', 'requirepass', secrets.REDIS_PASSWORD);
      admin.disconnect();
      const destination = new Writable({
        write(chunk, _e, cb) {
          lines.push(String(chunk));
          cb();
        },
      });
      stack = await startTestStack(
        {
          REDIS_URL: `redis://:${secrets.REDIS_PASSWORD}@127.0.0.1:${redis.port}`,
          QUEUE_PREFIX: uniquePrefix('secrets'),
          API_KEY: secrets.API_KEY,
          API_GATEWAY_API_KEY: secrets.API_GATEWAY_API_KEY,
          BOARD_USERNAME: secrets.BOARD_USERNAME,
          BOARD_PASSWORD: secrets.BOARD_PASSWORD,
          LOG_LEVEL: 'trace',
        },
        { logger: createLogger({ level: 'trace', name: 'secrets-test', destination }) },
      );
      banner = describeStack(stack);
    });
    after(async () => {
      await stack?.close();
      await redis?.stop();
    });

    it('no secret value appears in any log line at trace level, nor in the start-up banner', async () => {
      const auth = { 'x-api-key': secrets.API_KEY };
      const basic = `Basic ${Buffer.from(`${secrets.BOARD_USERNAME}:${secrets.BOARD_PASSWORD}`).toString('base64')}`;
      // Exercise every path that logs: success, retries, permanent failure, auth failures, board, cancel.
      stack.bedrock!.faults.set({ faults: [{ kind: 'status', status: 503, count: 2 }] });
      const ok = await stack.http.post(
        '/conversation',
        { initialQuery: 'Log me', maxTurns: 2 },
        { headers: { authorization: `Bearer ${secrets.API_KEY}` } },
      );
      await waitFinished(stack.store, ok.data.conversationId);
      const bad = await stack.http.post(
        '/conversation',
        { initialQuery: 'Fail me', maxTurns: 2, cloudModel: 'test.secret-fail' },
        { headers: auth },
      );
      stack.bedrock!.faults.set({ faults: [{ kind: 'validation', model: 'test.secret-fail' }] });
      await waitFinished(stack.store, bad.data.conversationId);
      await stack.http.post('/api/v1/generate', { inputText: 'hello' }, { headers: auth });
      await stack.http.post('/conversation', { initialQuery: 'no key' });
      await stack.http.post('/conversation', { initialQuery: 'wrong key' }, { headers: { 'x-api-key': `${secrets.API_KEY}-wrong` } });
      await stack.http.get('/admin/queues', { headers: { authorization: basic } });
      await stack.http.get('/admin/queues', {
        headers: { authorization: `Basic ${Buffer.from(`${secrets.BOARD_USERNAME}:wrong`).toString('base64')}` },
      });
      await stack.http.get('/metrics', { headers: auth });
      stack.ollama!.faults.set({ latencyMs: 5000 });
      const slow = await stack.http.post('/conversation', { initialQuery: 'Cancel me' }, { headers: auth });
      await until(async () => (await stack.queues.local.getActiveCount()) === 1, 10_000, 'the local call to start');
      await stack.http.delete(`/conversation/${slow.data.conversationId}`, { headers: auth });
      await waitFinished(stack.store, slow.data.conversationId);
      stack.ollama!.faults.reset();

      // A start-up error on a bad URL does not echo the password either.
      let configError = '';
      try {
        loadConfig({ REDIS_URL: `http://:${secrets.REDIS_PASSWORD}@cache.example:6379` });
      } catch (err) {
        configError = (err as Error).message;
      }
      assert.match(configError, /REDIS_URL=/);

      const forms = Object.entries(secrets).flatMap(([name, v]) => [
        [name, v],
        [`${name} (base64)`, Buffer.from(v).toString('base64')],
      ]);
      forms.push(['board basic auth', basic.slice(6)]);
      const leaks = forms.flatMap(([name, v]) =>
        [...lines, banner, configError].filter((l) => l.includes(v!)).map((l) => `${name}: ${l.slice(0, 300)}`),
      );
      const levels = new Set(lines.map((l) => (JSON.parse(l) as { level: number }).level));
      console.log(
        `      [figures] secrets-in-logs ${JSON.stringify({ logLines: lines.length, levelsSeen: [...levels].sort(), secretsChecked: forms.length, bannerAndConfigErrorChecked: true, leaks: leaks.length })}`,
      );
      assert.ok(lines.length > 20, 'the run logged');
      assert.ok(levels.has(10) || levels.has(20), 'trace or debug lines were captured');
      assert.deepEqual(leaks, []);
    });
  });
});
