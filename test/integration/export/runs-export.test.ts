import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parse } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { runCli } from '../../../cli/main';
import { exportConversations, newExportStats, storeLoader } from '../../../export/export-stream';
import { parseExportQuery } from '../../../export/export-options';
import { runConversationIds } from '../../../export/run-conversation-ids';
import { CSV_COLUMNS } from '../../../transcript/transcript-csv';
import { runKeys } from '../../../store/run-keys';
import { assertOpenaiChatLine } from '../../helpers/openai-chat-format';
import { startTestStack, type TestStack } from '../../helpers/test-stack';
import { FIXTURE_LOCAL_MODEL, writeRun, type FixtureConversation } from '../../helpers/run-fixtures';

/** The JSONL lines of a body (each must end with a newline). */
function jsonl(body: string): any[] {
  assert.ok(body === '' || body.endsWith('\n'), 'the body ends with a newline');
  return body
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** Roles alternate user/assistant, starting with user after an optional system; never empty content. */
function assertDialogue(roles: string[], contents: string[], system = 'system', user = 'user', assistant = 'assistant') {
  const start = roles[0] === system ? 1 : 0;
  assert.ok(roles.length - start >= 2 && (roles.length - start) % 2 === 0, `an even number of turns: ${roles}`);
  for (let i = start; i < roles.length; i++) assert.equal(roles[i], (i - start) % 2 === 0 ? user : assistant, `role ${i} of ${roles}`);
  for (const c of contents) assert.ok(typeof c === 'string' && c.trim() !== '', 'no empty message');
}

function assertProvenance(m: any, runId: string) {
  assert.equal(typeof m.conversationId, 'string');
  assert.equal(m.runId, runId);
  assert.equal(m.seedHash, `seed-${m.conversationId}`);
  for (const k of ['cloudModel', 'localModel', 'status', 'stopReason', 'createdAt']) assert.equal(typeof m[k], 'string', k);
  assert.equal(typeof m.templates.followUp, 'string');
  assert.equal(typeof m.tokens.cloudOutput, 'number');
  assert.equal(typeof m.latencyMs.cloud, 'number');
  assert.ok(Array.isArray(m.steps) && m.steps.length >= 1);
}

describe('GET /runs/:id/export (real Redis and HTTP)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let redis: Redis;
  let tmp: string;
  const RUN = 'run-a';
  const convs: FixtureConversation[] = [];

  before(async () => {
    stack = await startTestStack({}, { roles: [] });
    redis = new Redis(stack.redisUrl);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-export-'));
    for (let i = 0; i < 20; i++) convs.push({ id: `ok-${i}`, turns: 1 + (i % 3), meta: { row: i, source: 'seeds.jsonl', tags: ['x'] } });
    convs.push(
      { id: 'sys', systemPrompts: { cloud: 'You are terse.', local: 'You are curious.' }, meta: { row: 20 } },
      {
        id: 'filtered',
        turns: 3,
        emptyAnswerAt: { turn: 2, stopReason: 'content_filtered', text: 'half an ans' },
        stopReason: 'content_filtered',
      },
      { id: 'filtered-first', turns: 2, emptyAnswerAt: { turn: 1, stopReason: 'end_turn', text: '  ' }, stopReason: 'empty_answer' },
      { id: 'thinks', turns: 2, thinking: 'Hmm, let me reason about light scattering.' },
      { id: 'phrase', turns: 2, stopReason: 'stop_phrase' },
      { id: 'failed', turns: 1, status: 'failed' },
      { id: 'cancelled', turns: 2, status: 'cancelled' },
      { id: 'no-run-ref', turns: 1, noRun: true },
      { id: 'in-flight', turns: 1, status: 'running' },
    );
    await writeRun(redis, stack.store, RUN, convs);
    // An admitted id whose conversation has expired: skipped, not an error.
    await redis.zadd(runKeys(stack.store.shards.at(RUN), RUN).conversations, 1000, 'expired-one');
  });
  after(async () => {
    redis?.disconnect();
    await stack?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('openai (cloud as assistant): one valid line per usable conversation, in admission order, with provenance', async () => {
    const res = await stack.http.get(`/runs/${RUN}/export?format=openai&metadata=true`, { responseType: 'text' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
    assert.equal(res.headers['content-disposition'], `attachment; filename="run-${RUN}-openai-cloud.jsonl"`);
    const lines = jsonl(res.data);
    const expected = convs.filter((c) => c.id !== 'filtered-first' && c.id !== 'in-flight').map((c) => c.id);
    assert.deepEqual(
      lines.map((l) => l.metadata.conversationId),
      expected,
    );
    for (const l of lines) {
      assertDialogue(
        l.messages.map((m: any) => m.role),
        l.messages.map((m: any) => m.content),
      );
      if (l.metadata.conversationId === 'no-run-ref') {
        assert.equal(l.metadata.runId, null, 'a conversation without a run ref is exported with null provenance');
        continue;
      }
      assertProvenance(l.metadata, RUN);
    }
    const ok3 = lines.find((l) => l.metadata.conversationId === 'ok-3');
    assert.deepEqual(ok3.metadata.meta, { row: 3, source: 'seeds.jsonl', tags: ['x'] }, 'the seed meta round-trips');
    assert.equal(ok3.messages[0].content, 'Seed question ok-3: why is the sky blue?');
    const sys = lines.find((l) => l.metadata.conversationId === 'sys');
    assert.deepEqual(sys.messages[0], { role: 'system', content: 'You are terse.' });
    const filtered = lines.find((l) => l.metadata.conversationId === 'filtered');
    assert.equal(filtered.messages.length, 2, 'the filtered turn 2 and its question are left out');
    assert.equal(filtered.metadata.stopReason, 'content_filtered');
  });

  it('openai (local as assistant): the user turns are the follow-up prompts the local model saw; thinking stays in metadata', async () => {
    const res = await stack.http.get(`/runs/${RUN}/export?format=openai&metadata=true&assistant=local`, { responseType: 'text' });
    assert.equal(res.status, 200);
    const lines = jsonl(res.data);
    const sys = lines.find((l) => l.metadata.conversationId === 'sys');
    assert.deepEqual(sys.messages[0], { role: 'system', content: 'You are curious.' });
    assert.match(sys.messages[1].content, /Answer 1 of sys\./, 'the follow-up prompt holds the cloud answer it reacts to');
    assert.match(sys.messages[2].content, /^Follow-up 1 of sys\?$/);
    const thinks = lines.find((l) => l.metadata.conversationId === 'thinks');
    assert.ok(!JSON.stringify(thinks.messages).includes('light scattering'));
    assert.equal(thinks.metadata.steps[0].local.thinking, 'Hmm, let me reason about light scattering.');
    assert.equal(thinks.metadata.steps[0].local.model, FIXTURE_LOCAL_MODEL);
    for (const l of lines)
      assertDialogue(
        l.messages.map((m: any) => m.role),
        l.messages.map((m: any) => m.content),
      );
    assert.equal(
      lines.some((l) => l.metadata.conversationId === 'filtered'),
      true,
      'turn 1 of the filtered one has a follow-up',
    );
  });

  it('sharegpt: human/gpt alternating, system when set, provenance', async () => {
    const res = await stack.http.get(`/runs/${RUN}/export?format=sharegpt`, { responseType: 'text' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-disposition'], `attachment; filename="run-${RUN}-sharegpt-cloud.jsonl"`);
    const lines = jsonl(res.data);
    assert.equal(lines.length, convs.length - 2, 'all but the one without a usable exchange and the one still running');
    for (const l of lines) {
      assertDialogue(
        l.conversations.map((m: any) => m.from),
        l.conversations.map((m: any) => m.value),
        'system',
        'human',
        'gpt',
      );
      if (l.metadata.runId) assertProvenance(l.metadata, RUN);
    }
    // The system prompt is the first turn, from "system" (axolotl's convention), unless asked as a field.
    const sys = lines.find((l) => l.metadata.conversationId === 'sys');
    assert.deepEqual(sys.conversations[0], { from: 'system', value: 'You are terse.' });
    assert.equal('system' in sys, false);
    assert.equal(lines.find((l) => l.metadata.conversationId === 'ok-0').conversations[0].from, 'human');
    const field = jsonl((await stack.http.get(`/runs/${RUN}/export?format=sharegpt&sharegptSystem=field`, { responseType: 'text' })).data);
    const sysField = field.find((l) => l.metadata.conversationId === 'sys');
    assert.equal(sysField.system, 'You are terse.');
    assert.equal(sysField.conversations[0].from, 'human');
  });

  it('openai without metadata=true: only the keys the format defines (a strict validator), weight where asked', async () => {
    const plain = jsonl((await stack.http.get(`/runs/${RUN}/export?format=openai`, { responseType: 'text' })).data);
    assert.equal(plain.length, convs.length - 2);
    for (const l of plain) assertOpenaiChatLine(l);
    const withMeta = jsonl((await stack.http.get(`/runs/${RUN}/export?format=openai&metadata=true`, { responseType: 'text' })).data);
    assert.throws(() => assertOpenaiChatLine(withMeta[0]), /unknown key "metadata"/);
    const weighted = jsonl((await stack.http.get(`/runs/${RUN}/export?format=openai&weights=last`, { responseType: 'text' })).data);
    for (const l of weighted) {
      assertOpenaiChatLine(l);
      const w = l.messages.filter((m: any) => m.role === 'assistant').map((m: any) => m.weight);
      assert.deepEqual(w, [...w.slice(0, -1).map(() => 0), 1]);
    }
    const bad = await stack.http.get(`/runs/${RUN}/export?format=sharegpt&weights=last`);
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.data), /weights applies to format=openai only/);
  });

  it('csv: one header, every turn of every conversation, transcript columns then provenance', async () => {
    const res = await stack.http.get(`/runs/${RUN}/export?format=csv`, { responseType: 'text' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    assert.equal(res.headers['content-disposition'], `attachment; filename="run-${RUN}-csv.csv"`);
    const rows = parse(res.data, { columns: true }) as Record<string, string>[];
    assert.equal(res.data.split('timestamp,query,').length - 1, 1, 'one header');
    const header = (parse(res.data, { to_line: 1 }) as string[][])[0]!;
    assert.deepEqual(header.slice(0, CSV_COLUMNS.length), [...CSV_COLUMNS]);
    // Every cloud step is a row (a filtered answer too: the transcript keeps it).
    const cloudSteps = convs
      .filter((c) => c.status !== 'running')
      .reduce((n, c) => n + (c.emptyAnswerAt ? c.emptyAnswerAt.turn : (c.turns ?? 3)), 0);
    assert.equal(rows.length, cloudSteps);
    const r = rows.find((x) => x.conversation_id === 'ok-4')!;
    assert.equal(r.run_id, RUN);
    assert.equal(r.seed_hash, 'seed-ok-4');
    assert.equal(r.status, 'completed');
    assert.deepEqual(JSON.parse(r.meta!), { row: 4, source: 'seeds.jsonl', tags: ['x'] });
  });

  it('filters by status and stop reason', async () => {
    const ids = async (q: string) =>
      jsonl((await stack.http.get(`/runs/${RUN}/export?format=openai&metadata=true&${q}`, { responseType: 'text' })).data).map(
        (l) => l.metadata.conversationId,
      );
    assert.deepEqual(await ids('status=failed,cancelled'), ['failed', 'cancelled']);
    assert.deepEqual(await ids('status=running'), ['in-flight'], 'a conversation still running only when asked for');
    assert.deepEqual(await ids('stopReason=stop_phrase,content_filtered'), ['filtered', 'phrase']);
    const done = await ids('status=completed&stopReason=max_turns');
    assert.ok(done.includes('ok-0') && done.includes('sys') && !done.includes('phrase') && !done.includes('failed'));
  });

  it('404 for an unknown run, 400 naming a bad parameter; a run with only its hash exports nothing', async () => {
    const missing = await stack.http.get('/runs/nope/export?format=openai');
    assert.equal(missing.status, 404);
    assert.equal(missing.data.error.code, 'not_found');
    assert.match(missing.data.error.message, /no run with id "nope"/);
    const bad = await stack.http.get(`/runs/${RUN}/export?format=xml`);
    assert.equal(bad.status, 400);
    assert.match(bad.data.error.message, /^format must be one of openai, sharegpt, csv/);
    const badAssistant = await stack.http.get(`/runs/${RUN}/export?format=openai&assistant=both`);
    assert.equal(badAssistant.status, 400);
    assert.match(badAssistant.data.error.message, /^assistant must be cloud or local/);
    await redis.hset(runKeys(stack.store.shards.at('fresh'), 'fresh').run, 'state', 'ingesting');
    const fresh = await stack.http.get('/runs/fresh/export?format=csv', { responseType: 'text' });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.data.split('\r\n').filter(Boolean).length, 1, 'just the header');
  });

  it('GET /conversation/:id/export exports one conversation the same way', async () => {
    const res = await stack.http.get('/conversation/sys/export?format=sharegpt&assistant=local', { responseType: 'text' });
    assert.equal(res.status, 200);
    const [line] = jsonl(res.data);
    assert.deepEqual(line.conversations[0], { from: 'system', value: 'You are curious.' });
    assert.equal(line.metadata.conversationId, 'sys');
    assert.equal((await stack.http.get('/conversation/none/export?format=openai')).status, 404);
  });

  it('llmconv export streams the run to a file with a count', async () => {
    const out = path.join(tmp, 'data.jsonl');
    let stdout = '';
    let stderr = '';
    const code = await runCli(
      [
        'export',
        RUN,
        '--format',
        'openai',
        '--metadata',
        '--assistant',
        'local',
        '--status',
        'completed',
        '--out',
        out,
        '--url',
        stack.producerUrl!,
      ],
      {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
      },
    );
    assert.equal(code, 0, stderr);
    const lines = jsonl(fs.readFileSync(out, 'utf8'));
    assert.ok(lines.length > 20 && lines.every((l) => l.metadata.status === 'completed' && l.metadata.assistant === 'local'));
    assert.match(stderr, new RegExp(`wrote ${out.replace(/[.]/g, '\\.')} \\(${lines.length} conversations, [0-9.]+ MB\\)`));
    const csvOut = path.join(tmp, 'data.csv');
    assert.equal(
      await runCli(['export', RUN, '--format', 'csv', '--out', csvOut, '--url', stack.producerUrl!], {
        stdout: { write: () => true },
        stderr: { write: (s: string) => (stderr = s) },
      }),
      0,
    );
    const rows = parse(fs.readFileSync(csvOut, 'utf8'), { columns: true }) as unknown[];
    assert.match(stderr, new RegExp(`\\(${rows.length} rows,`));
    // On a terminal the count is redrawn in place; without --out the data goes to stdout.
    let ttyErr = '';
    const ttyOut = path.join(tmp, 'tty.jsonl');
    assert.equal(
      await runCli(['export', RUN, '--metadata', '--out', ttyOut, '--url', stack.producerUrl!], {
        stdout: { write: () => true, isTTY: true },
        stderr: { write: (s: string) => (ttyErr += s) },
      }),
      0,
    );
    assert.match(ttyErr, /\r\x1b\[Kexporting run-a: \d+ conversations, [0-9.]+ MB\n/);
    let piped = '';
    assert.equal(
      await runCli(['export', RUN, '--format', 'sharegpt', '--url', stack.producerUrl!], {
        stdout: { write: (s: string) => (piped += s) },
        stderr: { write: () => true },
      }),
      0,
    );
    assert.deepEqual(
      jsonl(piped).map((l) => l.metadata.conversationId),
      jsonl(fs.readFileSync(ttyOut, 'utf8')).map((l) => l.metadata.conversationId),
    );
    const bad = await runCli(['export', 'nope', '--out', path.join(tmp, 'x.jsonl'), '--url', stack.producerUrl!], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr = s) },
    });
    assert.equal(bad, 1);
    assert.match(stderr, /404 no run with id "nope"/);
    assert.equal(fs.existsSync(path.join(tmp, 'x.jsonl')), false, 'a refused export leaves no file');
  });

  it('a few thousand conversations export in bounded memory: never more than a batch loaded ahead of the reader', async () => {
    const BIG = 'run-big';
    const N = 2500;
    const big: FixtureConversation[] = Array.from({ length: N }, (_, i) => ({ id: `big-${i}`, turns: 3, padding: 2000, meta: { i } }));
    await writeRun(redis, stack.store, BIG, big, 128);
    const opts = parseExportQuery({ format: 'openai' }, { escapeFormulas: true });
    const stats = newExportStats();
    const store = storeLoader(stack.store);
    let loaded = 0;
    let consumed = 0;
    let maxAhead = 0;
    const BATCH = 50;
    const load = async (ids: string[]) => {
      loaded += ids.length;
      maxAhead = Math.max(maxAhead, loaded - consumed);
      return store(ids);
    };
    let bytes = 0;
    // Retained heap, measured after a full GC (without one, heapUsed mostly counts garbage).
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const retained = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const heap0 = retained();
    let heapPeak = heap0;
    for await (const line of exportConversations(runConversationIds(redis, stack.store.shards, BIG, 200), load, opts, stats, BATCH)) {
      consumed++;
      bytes += line.length;
      if (consumed % 250 === 0) heapPeak = Math.max(heapPeak, retained());
    }
    assert.equal(stats.exported, N);
    assert.equal(consumed, N);
    assert.ok(stats.maxHeld <= BATCH, `held ${stats.maxHeld}`);
    assert.ok(maxAhead <= BATCH, `loaded ${maxAhead} conversations ahead of the reader (batch ${BATCH})`);
    // Coarse: the heap retains a small part of the export, never the whole of it.
    assert.ok(bytes > 15e6, `export size ${bytes}`);
    process.stderr.write(`      heap +${((heapPeak - heap0) / 1e6).toFixed(1)} MB for ${(bytes / 1e6).toFixed(1)} MB exported\n`);
    assert.ok(
      heapPeak - heap0 < bytes / 5,
      `heap grew ${((heapPeak - heap0) / 1e6).toFixed(1)} MB for a ${(bytes / 1e6).toFixed(1)} MB export`,
    );

    // Through HTTP, a reader that stops reading stops the reads from Redis (each conversation is
    // one EVALSHA of the store's load script; this test process is the only client of its Redis).
    const evalshaCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const before = await evalshaCalls();
    const paused = await new Promise<{ res: http.IncomingMessage; first: number }>((resolve, reject) => {
      http
        .get(`${stack.producerUrl}/runs/${BIG}/export?format=openai`, (res) => {
          res.once('data', (chunk: Buffer) => {
            res.pause();
            resolve({ res, first: chunk.length });
          });
        })
        .on('error', reject);
    });
    // Wait until the server has stopped reading (the count holds still), then compare.
    let last = -1;
    for (let still = 0; still < 3; ) {
      await new Promise((r) => setTimeout(r, 200));
      const now = await evalshaCalls();
      still = now === last ? still + 1 : 0;
      last = now;
    }
    const readWhilePaused = last - before;
    assert.ok(readWhilePaused < N / 2, `${readWhilePaused} of ${N} conversations read while the client read nothing`);
    process.stderr.write(`      ${readWhilePaused} of ${N} conversations read while the client was paused\n`);
    paused.res.destroy();

    // Through HTTP too: the whole response arrives and every line parses.
    const res = await fetch(`${stack.producerUrl}/runs/${BIG}/export?format=sharegpt`);
    let n = 0;
    let rest = '';
    const dec = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const text = rest + dec.decode(chunk, { stream: true });
      const parts = text.split('\n');
      rest = parts.pop()!;
      for (const p of parts) {
        JSON.parse(p);
        n++;
      }
    }
    assert.equal(rest, '');
    assert.equal(n, N);
  });
});
