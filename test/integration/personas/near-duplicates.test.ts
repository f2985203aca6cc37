/**
 * Near-duplicate control through the real producer, Redis, workers and emulators: seeds of one
 * upload that near-duplicate an earlier one are rejected naming it (`dedup=true`), and a run's
 * finished conversations that near-duplicate an earlier one are flagged (counted on the run,
 * named in the export's provenance, left out by `filter=dedup`). `[emulate:repeat]` makes the
 * emulators answer the same sentence whatever the question, so two such conversations differ only
 * in their first question.
 */
import assert from 'node:assert/strict';
import { flagNearDuplicate } from '../../../runs/conversation-dedup';
import { RunStore } from '../../../store/run-store';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

const ndjson = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

async function waitForRun(stack: TestStack, runId: string, timeoutMs = 60_000): Promise<any> {
  let view: any;
  await until(
    async () => {
      view = (await stack.http.get(`/runs/${runId}`)).data;
      return view.state !== 'active';
    },
    timeoutMs,
    `run ${runId} to finish`,
  );
  return view;
}

describe('near-duplicates (MinHash; real Redis, HTTP, emulators, workers)', function () {
  this.timeout(120_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ DEDUP_THRESHOLD: '0.7' });
  });
  after(async () => {
    await stack?.close();
  });

  const post = (path: string, body: string) =>
    stack.http.post(path, body, { headers: { 'content-type': 'application/x-ndjson' }, transformRequest: [(d) => d] });

  it('dedup=true rejects a seed that near-duplicates an earlier one of the upload, naming its line and DEDUP_THRESHOLD', async () => {
    const long = 'How should a small team choose between a relational database and a document store for a new web application';
    const r = await post(
      '/runs?run=dedup-seeds&dedup=true&maxTurns=1',
      ndjson([
        { initialQuery: long },
        { initialQuery: `${long} today` },
        { initialQuery: 'What is the tallest mountain on Earth and how was it measured' },
        { initialQuery: `${long}?`, persona: 'a nurse who has never written code and wants plain words' },
      ]),
    );
    assert.equal(r.status, 202, JSON.stringify(r.data));
    assert.equal(r.data.accepted, 3);
    assert.equal(r.data.nearDuplicates, 1);
    assert.equal(r.data.rejected, 1);
    assert.equal(r.data.rejectedLines[0].line, 2);
    assert.match(r.data.rejectedLines[0].reason, /near-duplicate of line 1 \(MinHash similarity 0\.\d+ >= DEDUP_THRESHOLD 0\.7\)/);
    // Without dedup the same seeds are all taken (exact duplicates only are skipped).
    const plain = await post('/runs?run=dedup-off&maxTurns=1', ndjson([{ initialQuery: long }, { initialQuery: `${long} today` }]));
    assert.equal(plain.data.accepted, 2);
    assert.equal(plain.data.nearDuplicates, undefined);
  });

  it("dedup=true holds across a run's uploads: a near-copy of an earlier upload's seed is rejected naming it, the same seed again is a duplicate", async () => {
    const long = 'What should a first-time gardener plant in a shady corner of a small city balcony in spring';
    const other = 'How do noise-cancelling headphones work and why do they struggle with voices';
    const first = await post('/runs?run=dedup-appends&dedup=true&maxTurns=1', ndjson([{ initialQuery: long }, { initialQuery: other }]));
    assert.equal(first.status, 202, JSON.stringify(first.data));
    assert.equal(first.data.accepted, 2);
    // The run store keeps one fixed-size record per kept seed (16-byte hash + 64 × 4-byte minima).
    const sigKey = `${stack.store.shards.at('dedup-appends')}:run:dedup-appends:seedsigs`;
    assert.equal(await stack.store.redis.strlen(sigKey), 2 * 272);
    assert.ok((await stack.store.redis.ttl(sigKey)) > 0, 'the records expire (RETENTION_SECONDS)');

    const second = await post(
      '/runs?run=dedup-appends&dedup=true&maxTurns=1',
      ndjson([
        { initialQuery: `${long} please` },
        { initialQuery: long },
        { initialQuery: 'Which rivers flow north, and what decides the direction a river flows' },
      ]),
    );
    assert.equal(second.status, 202, JSON.stringify(second.data));
    assert.equal(second.data.created, false);
    assert.equal(second.data.nearDuplicates, 1);
    assert.equal(second.data.accepted, 1);
    assert.equal(second.data.duplicates, 1);
    assert.equal(second.data.rejectedLines[0].line, 1);
    assert.match(
      second.data.rejectedLines[0].reason,
      /near-duplicate of seed [0-9a-f]{32} of an earlier upload to this run \(MinHash similarity 0\.\d+ >= DEDUP_THRESHOLD 0\.7\)/,
    );
    // Only the new seed's record was added; a third upload of a near-copy of it is caught too.
    assert.equal(await stack.store.redis.strlen(sigKey), 3 * 272);
    const third = await post(
      '/runs?run=dedup-appends&dedup=true&maxTurns=1',
      ndjson([{ initialQuery: 'Which rivers flow north, and what decides the direction a river flows?' }]),
    );
    assert.equal(third.data.nearDuplicates, 1);
    assert.equal(third.data.accepted, 0);
    const view = (await stack.http.get('/runs/dedup-appends')).data;
    assert.equal(view.seeds, 3, "the run holds the first upload's two seeds and the second's new one");
  });

  it('a finished conversation like an earlier one of its run is flagged, counted, named in provenance and left out by filter=dedup', async () => {
    const r = await post(
      '/runs?run=dedup-convs&maxTurns=2&maxActive=1',
      ndjson([
        { initialQuery: 'Tell me about lighthouses [emulate:repeat]' },
        { initialQuery: 'Tell me about harbours [emulate:repeat]' },
        { initialQuery: 'Why do cats purr when they are happy or hurt?' },
      ]),
    );
    assert.equal(r.status, 202, JSON.stringify(r.data));
    const view = await waitForRun(stack, 'dedup-convs');
    assert.equal(view.byStatus.completed, 3);
    assert.equal(view.nearDuplicates, 1);
    const lines = async (q: string) =>
      ((await stack.http.get(`/runs/dedup-convs/export?format=openai&metadata=true${q}`, { responseType: 'text' })).data as string)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).metadata);
    const all = await lines('');
    assert.equal(all.length, 3);
    const flagged = all.filter((m) => m.nearDuplicateOf);
    assert.equal(flagged.length, 1);
    assert.ok(flagged[0].nearDuplicateOf.similarity >= 0.7);
    assert.ok(all.some((m) => m.conversationId === flagged[0].nearDuplicateOf.id));
    const kept = await lines('&filter=dedup');
    assert.deepEqual(
      kept.map((m) => m.conversationId).sort(),
      all
        .filter((m) => !m.nearDuplicateOf)
        .map((m) => m.conversationId)
        .sort(),
    );
    // The transcript step run again (an at-least-once job): the same finding, flagged and counted once.
    const again = (await stack.store.getConversation(flagged[0].conversationId))!;
    const dedup = { store: stack.store, runs: new RunStore(stack.store.redis, stack.store.shards), threshold: 0.7, ttlSeconds: 3600 };
    assert.deepEqual(await flagNearDuplicate(dedup, again.record, again.turns), flagged[0].nearDuplicateOf);
    assert.equal((await stack.http.get('/runs/dedup-convs')).data.nearDuplicates, 1);
    const bad = await stack.http.get('/runs/dedup-convs/export?format=openai&filter=nope');
    assert.equal(bad.status, 400);
    assert.match(bad.data.error.message, /or dedup/);
  });
});
