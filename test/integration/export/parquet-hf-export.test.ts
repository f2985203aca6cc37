/**
 * `format=parquet` and `format=hf` on a run of 10,000 conversations, read back with an
 * independent reader (parquet-wasm: arrow-rs compiled to wasm, not the writer's library) and the
 * dataset card's YAML parsed; the zip read with yauzl; `llmconv export --format hf --out dir/`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { tableFromIPC, type Table } from 'apache-arrow';
import { Redis } from 'ioredis';
import { ParquetFile, readParquet } from 'parquet-wasm';
import { parse as parseYaml } from 'yaml';
import yauzl from 'yauzl';
import { runCli } from '../../../cli/main';
import { parseExportQuery } from '../../../export/export-options';
import { newExportStats, storeLoader } from '../../../export/export-stream';
import { exportParquet } from '../../../export/parquet-export';
import { ROW_GROUP_ROWS } from '../../../export/parquet-stream';
import { runConversationIds } from '../../../export/run-conversation-ids';
import { startTestStack, type TestStack } from '../../helpers/test-stack';
import { FIXTURE_CLOUD_MODEL, writeRun, type FixtureConversation } from '../../helpers/run-fixtures';

const N = 10_000;
const RUN = 'run-pq';

const arrow = (bytes: Uint8Array): Table => tableFromIPC(readParquet(bytes).intoIPCStream());

/** The entries of a zip held in memory, by name, in archive order. */
function unzip(buf: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const parts: Buffer[] = [];
          stream.on('data', (c: Buffer) => parts.push(c));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(parts));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** The YAML header and the body of a dataset card. */
function card(text: string): { header: any; body: string } {
  const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
  assert.ok(m, 'the card starts with a YAML header between --- lines');
  return { header: parseYaml(m[1]!), body: m[2]! };
}

describe('GET /runs/:id/export?format=parquet|hf (real Redis and HTTP, read back with parquet-wasm)', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let redis: Redis;
  let tmp: string;

  before(async () => {
    stack = await startTestStack({}, { roles: [] });
    redis = new Redis(stack.redisUrl);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-parquet-'));
    const convs: FixtureConversation[] = Array.from({ length: N }, (_, i) => ({
      id: `pq-${i}`,
      turns: 1 + (i % 3),
      meta: { row: i },
      ...(i === 0 ? { systemPrompts: { cloud: 'You are terse.' } } : {}),
      ...(i === 1 ? { stopReason: 'stop_phrase' as const } : {}),
    }));
    await writeRun(redis, stack.store, RUN, convs, 256);
  });
  after(async () => {
    redis?.disconnect();
    await stack?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('parquet: one row per conversation, messages as list<struct<role, content>> equal to the openai lines, provenance columns, many row groups', async () => {
    const res = await fetch(`${stack.producerUrl}/runs/${RUN}/export?format=parquet`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/vnd.apache.parquet');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="run-${RUN}-parquet-cloud.parquet"`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const t = arrow(bytes);
    assert.equal(t.numRows, N);
    const field = (name: string) => t.schema.fields.find((f) => f.name === name)!;
    assert.equal(String(field('messages').type), 'List<Struct<{role:Utf8, content:Utf8}>>');
    assert.equal(String(field('created_at').type), 'Timestamp<MILLISECOND, UTC>');
    assert.equal(String(field('cost_usd').type), 'Float64');
    const meta = await (await ParquetFile.fromFile(new Blob([bytes]))).metadata();
    assert.ok(meta.numRowGroups() >= N / 1000, `${meta.numRowGroups()} row groups for ${N} rows`);

    // The messages are the openai export's, row for row (the same dialogue through another path).
    const lines = (await (await fetch(`${stack.producerUrl}/runs/${RUN}/export?format=openai&metadata=true`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, N);
    const ids = t.getChild('conversation_id')!;
    const messages = t.getChild('messages')!;
    for (const i of [0, 1, 2, 4999, N - 1]) {
      assert.equal(ids.get(i), lines[i].metadata.conversationId);
      const got = messages
        .get(i)!
        .toArray()
        .map((m: any) => ({ role: m.role, content: m.content }));
      assert.deepEqual(got, lines[i].messages, `row ${i}`);
    }
    assert.deepEqual(lines[0].messages[0], { role: 'system', content: 'You are terse.' });
    const row1 = t.get(1)!.toJSON() as any;
    assert.equal(row1.stop_reason, 'stop_phrase');
    assert.equal(row1.run_id, RUN);
    assert.equal(row1.seed_hash, 'seed-pq-1');
    assert.equal(row1.cloud_model, FIXTURE_CLOUD_MODEL);
    assert.equal(row1.exchanges, 2);
    assert.deepEqual(JSON.parse(row1.meta), { row: 1 });
    assert.equal(typeof row1.cost_usd, 'number');
    assert.equal(JSON.parse(row1.provenance).steps.length, 2);
    assert.equal(row1.created_at, Date.parse(lines[1].metadata.createdAt));
  });

  it('hf: a zip of data/train-00000-of-00001.parquet and a README.md card whose YAML header the Hub reads, rendered from the run', async () => {
    const res = await fetch(`${stack.producerUrl}/runs/${RUN}/export?format=hf&license=cc-by-4.0&language=en`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    const entries = await unzip(Buffer.from(await res.arrayBuffer()));
    assert.deepEqual([...entries.keys()], ['data/train-00000-of-00001.parquet', 'README.md']);
    assert.equal(arrow(entries.get('data/train-00000-of-00001.parquet')!).numRows, N);
    const { header, body } = card(entries.get('README.md')!.toString('utf8'));
    assert.equal(header.license, 'cc-by-4.0');
    assert.deepEqual(header.language, ['en']);
    assert.deepEqual(header.task_categories, ['text-generation']);
    assert.deepEqual(header.size_categories, ['10K<n<100K']);
    assert.deepEqual(header.annotations_creators, ['machine-generated']);
    assert.deepEqual(header.configs, [{ config_name: 'default', data_files: [{ split: 'train', path: 'data/train-*' }] }]);
    // The sections, from the run: models with their prices and dates, templates, settings, counts, stop reasons, cost.
    for (const section of [
      '## How it was generated',
      '### Models',
      '### Prompts and templates',
      '### Run settings',
      '### Judge rubric',
      '## Counts',
      '## Stop reasons',
      '## Cost',
    ])
      assert.ok(body.includes(`\n${section}\n`), section);
    assert.match(
      body,
      new RegExp(
        `\\| cloud \\| \`${FIXTURE_CLOUD_MODEL.replace(/[.]/g, '\\.')}\` \\| ${N} \\| \\$[0-9.]+ in / \\$[0-9.]+ out per 1,000 tokens, the shipped model catalogue, row "[^"]+" read on \\d{4}-\\d{2}`,
      ),
    );
    assert.match(body, /\| max_turns \| 9999 \(100\.0 %\) \|/);
    assert.match(body, /\| stop_phrase \| 1 \(0\.0 %\) \|/);
    assert.match(body, new RegExp(`\\| in the export \\(rows\\) \\| ${N} \\|`));
    assert.match(body, /- followUp:\n\n```+\n/);
    assert.match(body, /total \$[0-9.]+/);
    assert.ok(body.includes('You are terse.'), 'the system prompt of the one conversation that had one');

    const defaults = await unzip(
      Buffer.from(await (await fetch(`${stack.producerUrl}/runs/${RUN}/export?format=hf&status=failed`)).arrayBuffer()),
    );
    const empty = card(defaults.get('README.md')!.toString('utf8'));
    assert.equal(empty.header.license, 'other', 'no license chosen: other, and the card says so');
    assert.equal('language' in empty.header, false);
    assert.match(empty.body, /No license was chosen at export/);
    assert.deepEqual(empty.header.size_categories, ['n<1K']);
    assert.equal(arrow(defaults.get('data/train-00000-of-00001.parquet')!).numRows, 0, 'an empty export is a valid empty file');
  });

  it('llmconv export --format hf --out dir/ writes the dataset directory; --format parquet --out writes the file', async () => {
    const dir = path.join(tmp, 'dataset');
    let stderr = '';
    const io = { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } };
    const code = await runCli(
      ['export', RUN, '--format', 'hf', '--license', 'mit', '--language', 'en,fr', '--out', `${dir}/`, '--url', stack.producerUrl!],
      io,
    );
    assert.equal(code, 0, stderr);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['README.md', 'data']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'data')), ['train-00000-of-00001.parquet']);
    assert.equal(arrow(fs.readFileSync(path.join(dir, 'data/train-00000-of-00001.parquet'))).numRows, N);
    const { header } = card(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'));
    assert.equal(header.license, 'mit');
    assert.deepEqual(header.language, ['en', 'fr']);
    assert.match(stderr, /wrote .*dataset\/ \(data\/train-00000-of-00001\.parquet, README\.md; [0-9.]+ MB\)/);
    // A directory with files in it is refused before anything is downloaded.
    assert.equal(
      await runCli(['export', RUN, '--format', 'hf', '--out', dir, '--url', stack.producerUrl!], {
        ...io,
        stderr: { write: (s: string) => (stderr = s) },
      }),
      1,
    );
    assert.match(stderr, /is not empty/);
    const file = path.join(tmp, 'run.parquet');
    assert.equal(
      await runCli(['export', RUN, '--format', 'parquet', '--assistant', 'local', '--out', file, '--url', stack.producerUrl!], io),
      0,
    );
    const t = arrow(fs.readFileSync(file));
    assert.equal(t.numRows, N);
    assert.equal(t.get(0)!.toJSON().assistant, 'local');
    assert.equal(
      await runCli(['export', RUN, '--format', 'parquet', '--url', stack.producerUrl!], {
        ...io,
        stderr: { write: (s: string) => (stderr = s) },
      }),
      1,
    );
    assert.match(stderr, /--format parquet is binary: give --out/);
  });

  it('the Parquet export holds two batches and a row group, never the run', async () => {
    const opts = parseExportQuery({ format: 'parquet' }, { escapeFormulas: true });
    const stats = newExportStats();
    const store = storeLoader(stack.store);
    let loaded = 0;
    let rowsOut = 0;
    let maxAhead = 0;
    const BATCH = 100;
    const load = async (ids: string[]) => {
      loaded += ids.length;
      maxAhead = Math.max(maxAhead, loaded - stats.exported);
      return store(ids);
    };
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const retained = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const heap0 = retained();
    let heapPeak = heap0;
    let bytes = 0;
    let chunks = 0;
    for await (const chunk of exportParquet(runConversationIds(redis, stack.store.shards, RUN, 500), load, opts, stats, BATCH)) {
      bytes += chunk.length;
      rowsOut = stats.exported;
      if (++chunks % 2 === 0) heapPeak = Math.max(heapPeak, retained());
    }
    assert.equal(rowsOut, N);
    assert.ok(chunks >= N / ROW_GROUP_ROWS, `${chunks} chunks: a row group (${ROW_GROUP_ROWS} rows) at a time`);
    // Two batches: the one handed out and the next, loading meanwhile.
    assert.ok(stats.maxHeld <= 2 * BATCH, `held ${stats.maxHeld}`);
    assert.ok(
      maxAhead <= ROW_GROUP_ROWS + 2 * BATCH,
      `loaded ${maxAhead} conversations ahead of the bytes (a row group and two batches at most)`,
    );
    process.stderr.write(`      heap +${((heapPeak - heap0) / 1e6).toFixed(1)} MB for a ${(bytes / 1e6).toFixed(1)} MB Parquet file\n`);
    // Generous: a row group and the writer's buffer, far below the run.
    assert.ok(heapPeak - heap0 < 64e6, `heap grew ${((heapPeak - heap0) / 1e6).toFixed(1)} MB`);
  });
});
