import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { startTestStack, type TestStack } from '../../helpers/test-stack';

const post = (stack: TestStack, path: string, body: string | Readable, type = 'text/csv') =>
  stack.http.post(path, body, { headers: { 'content-type': type }, transformRequest: [(d) => d] });

describe('CSV and failed uploads (real producer, Redis, workers, emulators)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ RUN_MAX_BODY_BYTES: '4000' }, { emulatorLatencyMs: 0 });
  });
  after(async () => {
    await stack?.close();
  });

  const runIsGone = async (runId: string) => {
    assert.equal((await stack.http.get(`/runs/${runId}`)).status, 404);
    const list = (await stack.http.get('/runs?limit=1000')).data.runs as { runId: string }[];
    assert.ok(!list.some((r) => r.runId === runId), `run ${runId} is listed`);
  };

  it('a file of CRLF lines with a few LF lines (a quoted value after one) is read row by row: no 500, nothing merged into meta', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `"Mixed question ${i}, please?",t${i}`);
    const body = `initialQuery,topic\r\n${rows.map((r, i) => r + (i % 10 === 3 ? '\n' : '\r\n')).join('')}`;
    const res = await post(stack, '/runs?run=csv-mixed&maxTurns=1', body);
    assert.equal(res.status, 202, JSON.stringify(res.data));
    assert.deepEqual([res.data.accepted, res.data.rejected], [30, 0]);
    const view = (await stack.http.get('/runs/csv-mixed')).data;
    assert.equal(view.seeds, 30);
    const ids = (await stack.http.get('/runs/csv-mixed/conversations?limit=100')).data.conversations as { conversationId: string }[];
    const metas = await Promise.all(ids.map(async (c) => (await stack.store.get(c.conversationId))?.settings.run?.meta));
    assert.ok(
      metas.every((m) => /^t\d+$/.test(String(m?.topic))),
      JSON.stringify(metas),
    );
  });

  it('an unterminated quote rejects its line and keeps every other seed; a row with more or fewer columns than the header is rejected', async () => {
    const body = 'initialQuery,topic\nFirst?,a\n"Never closed?,b\nThird?,c\nFourth?,d,extra\nFifth?\nSixth?,f\n';
    const res = await post(stack, '/runs?maxTurns=1', body);
    assert.equal(res.status, 202, JSON.stringify(res.data));
    assert.deepEqual([res.data.accepted, res.data.rejected], [3, 3]);
    assert.deepEqual(
      res.data.rejectedLines.map((r: { line: number }) => r.line),
      [3, 5, 6],
    );
    assert.match(res.data.rejectedLines[0].reason, /unterminated quote/);
    assert.match(res.data.rejectedLines[1].reason, /3 fields where the header has 2/);
    assert.match(res.data.rejectedLines[2].reason, /1 field where the header has 2/);
    // The same file again adds nothing.
    const again = await post(stack, `/runs/${res.data.runId}/seeds`, body);
    assert.deepEqual([again.status, again.data.accepted, again.data.duplicates, again.data.rejected], [202, 0, 3, 3]);
  });

  it('an upload that fails before adding a seed leaves no run behind (a CSV without its column, an upload over RUN_MAX_BODY_BYTES)', async () => {
    const noColumn = await post(stack, '/runs?run=csv-no-column', 'question\nx\n');
    assert.equal(noColumn.status, 400);
    assert.match(noColumn.data.error.message, /initialQuery/);
    await runIsGone('csv-no-column');
    const badHeader = await post(stack, '/runs?run=csv-bad-header', '"initialQuery,topic\nx,y\n');
    assert.equal(badHeader.status, 400);
    assert.match(badHeader.data.error.message, /header \(line 1\) cannot be read: unterminated quote/);
    await runIsGone('csv-bad-header');
    // Streamed (no Content-Length), so the limit is met while reading: only bad lines came before it.
    const big = Readable.from([Buffer.from('not json\n'.repeat(300)), Buffer.from('not json\n'.repeat(300))]);
    const tooLarge = await post(stack, '/runs?run=too-large', big, 'application/x-ndjson');
    assert.equal(tooLarge.status, 413);
    assert.match(tooLarge.data.error.message, /RUN_MAX_BODY_BYTES/);
    await runIsGone('too-large');
    // An append that fails keeps the run it appends to.
    assert.equal((await post(stack, '/runs?run=kept&maxTurns=1', 'initialQuery\nKept?\n')).status, 202);
    assert.equal((await post(stack, '/runs/kept/seeds', 'question\nx\n')).status, 400);
    assert.equal((await stack.http.get('/runs/kept')).data.seeds, 1);
  });
});
