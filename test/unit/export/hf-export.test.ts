/**
 * The `hf` zip and its card without Redis: conversations from memory, the zip read back with
 * yauzl, each shard with parquet-wasm (arrow-rs), the card's YAML with `yaml`.
 */
import assert from 'node:assert/strict';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { parse as parseYaml } from 'yaml';
import yauzl from 'yauzl';
import type { ExportItem } from '../../../export/conversation-lines';
import { sizeCategory } from '../../../export/dataset-card';
import { parseExportQuery } from '../../../export/export-options';
import { newExportStats } from '../../../export/export-stream';
import { exportHf, shardName } from '../../../export/hf-export';
import { DEFAULT_PRICES } from '../../../cost/price-table';

const T0 = Date.UTC(2026, 11, 1);

function item(i: number, status = 'completed'): ExportItem {
  return {
    record: {
      id: `c-${i}`,
      status,
      settings: {
        initialQuery: `Q1 of ${i}`,
        outputFile: 'o.csv',
        maxTurns: 2,
        timeoutMinutes: 30,
        cloudModel: 'amazon.nova-micro-v1:0',
        localModel: 'llama3.2',
        contextTurns: 2,
        temperature: 0.5,
        templates: { followUp: 'React to: {{answer}}', nextQuery: 'Asked: {{followUp}}' },
        systemPrompts: i === 0 ? { cloud: 'Use ``` fences.' } : {},
        run: { id: 'r-1', seedHash: `h-${i}`, meta: { i } },
      },
      createdAt: T0 + i,
      updatedAt: T0 + i,
      deadline: T0 + 1e6,
      stopReason: i % 2 ? 'stop_phrase' : 'max_turns',
      finishedAt: T0 + 1000 + i,
      format: 2,
    },
    turns: [1, 2].map((k) => ({
      turn: k,
      cloud: {
        question: `Q${k} of ${i}`,
        answer: `A${k} of ${i}`,
        model: 'amazon.nova-micro-v1:0',
        inputTokens: 10,
        outputTokens: 20,
        latencyMs: 5,
        stopReason: 'end_turn',
      },
      local: { prompt: `P${k}`, followUp: `F${k}?`, model: 'llama3.2', inputTokens: 3, outputTokens: 4, latencyMs: 2, stopReason: 'stop' },
    })),
    cost: { cloudUsd: 0.001, localUsd: 0, totalUsd: 0.001 },
  } as unknown as ExportItem;
}

function unzip(buf: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (e: yauzl.Entry) =>
        zip.openReadStream(e, (er, s) => {
          if (er || !s) return reject(er);
          const parts: Buffer[] = [];
          s.on('data', (c: Buffer) => parts.push(c));
          s.on('end', () => {
            out.set(e.fileName, Buffer.concat(parts));
            zip.readEntry();
          });
        }),
      );
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

describe('the hf export (zip, shards, card)', () => {
  it('shares the rows over N shards named train-0000k-of-0000N, the card counts what was written', async () => {
    const items = new Map(Array.from({ length: 10 }, (_, i) => [`c-${i}`, item(i, i === 9 ? 'failed' : 'completed')]));
    const load = async (ids: string[]) => ids.map((id) => items.get(id) ?? null);
    const opts = parseExportQuery({ format: 'hf', status: 'completed', license: 'apache-2.0', language: 'en' }, { escapeFormulas: true });
    const stats = newExportStats();
    const ids = [...items.keys(), 'gone-1'];
    const chunks: Buffer[] = [];
    const facts = { title: 'sky run', runId: 'r-1', run: null, prices: DEFAULT_PRICES };
    // 11 ids at 4 per shard: 3 shards; 9 rows pass the filter: 4, 4, 1.
    for await (const c of exportHf(
      ids,
      load,
      { ...opts, prices: DEFAULT_PRICES },
      facts,
      { total: ids.length, perShard: 4, writer: { rowGroupRows: 3 } },
      stats,
      5,
    ))
      chunks.push(Buffer.from(c));
    const entries = await unzip(Buffer.concat(chunks));
    assert.deepEqual([...entries.keys()], [shardName(0, 3), shardName(1, 3), shardName(2, 3), 'README.md']);
    assert.equal(shardName(1, 3), 'data/train-00001-of-00003.parquet');
    const rows = [0, 1, 2].map((k) => tableFromIPC(readParquet(entries.get(shardName(k, 3))!).intoIPCStream()));
    assert.deepEqual(
      rows.map((t) => t.numRows),
      [4, 4, 1],
    );
    assert.deepEqual(
      rows.flatMap((t) => [...t.getChild('conversation_id')!].map(String)),
      Array.from({ length: 9 }, (_, i) => `c-${i}`),
    );
    assert.deepEqual(
      { exported: stats.exported, filtered: stats.filtered, missing: stats.missing },
      { exported: 9, filtered: 1, missing: 1 },
    );

    const text = entries.get('README.md')!.toString('utf8');
    const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text)!;
    const header = parseYaml(m[1]!);
    assert.deepEqual(header, {
      license: 'apache-2.0',
      language: ['en'],
      pretty_name: 'sky run',
      task_categories: ['text-generation'],
      tags: ['synthetic', 'conversational', 'llmconv'],
      size_categories: ['n<1K'],
      annotations_creators: ['machine-generated'],
      language_creators: ['machine-generated'],
      source_datasets: ['original'],
      configs: [{ config_name: 'default', data_files: [{ split: 'train', path: 'data/train-*' }] }],
    });
    const body = m[2]!;
    assert.match(body, /\| max_turns \| 5 \(55\.6 %\) \|/);
    assert.match(body, /\| stop_phrase \| 4 \(44\.4 %\) \|/);
    assert.match(body, /\| left out by the filters \| 1 \|/);
    assert.match(body, /\| gone \(expired\) \| 1 \|/);
    assert.match(body, /total \$0\.009000/);
    assert.match(body, /\| 9 \| `\{"maxTurns":2,"contextTurns":2,"temperature":0\.5\}` \|/);
    assert.match(body, /React to: \{\{answer\}\}/);
    // A prompt holding a fence is fenced with a longer one, so the card's Markdown stays intact.
    assert.match(body, /````\nUse ``` fences\.\n````/);
    assert.match(body, /No rubric was configured/);
  });

  it('size categories as the Hub names them', () => {
    assert.deepEqual([0, 999, 1000, 9999, 10_000, 250_000, 5e6].map(sizeCategory), [
      'n<1K',
      'n<1K',
      '1K<n<10K',
      '1K<n<10K',
      '10K<n<100K',
      '100K<n<1M',
      '1M<n<10M',
    ]);
  });
});
