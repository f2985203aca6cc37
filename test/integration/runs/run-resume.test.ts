import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../../cli/main';
import { startTestStack, type TestStack } from '../../helpers/test-stack';

const post = (stack: TestStack, path: string, body: string, type = 'application/x-ndjson', headers: Record<string, string> = {}) =>
  stack.http.post(path, body, { headers: { 'content-type': type, ...headers }, transformRequest: [(d) => d] });

const SEEDS = Array.from({ length: 20 }, (_, i) => ({ q: `Resume question ${i}?`, topic: `t${i % 3}` }));
const jsonl = `${SEEDS.map((s) => JSON.stringify({ initialQuery: s.q, meta: { topic: s.topic } })).join('\n')}\n`;
const csv = `initialQuery,topic\r\n${SEEDS.map((s) => `"${s.q}",${s.topic}`).join('\r\n')}\r\n`;
const text = `${SEEDS.map((s) => s.q).join('\n')}\n`;

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

describe('resuming a run (real producer, Redis, workers, emulators)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({}, { emulatorLatencyMs: 0 });
  });
  after(async () => {
    await stack?.close();
  });

  it("an append without the settings uses the run's: the same file, as JSONL, CSV or text, adds nothing", async () => {
    const first = await post(stack, '/runs?run=resume-a&maxTurns=3&temperature=0.2', jsonl);
    assert.equal(first.status, 202, JSON.stringify(first.data));
    assert.equal(first.data.accepted, 20);
    for (const [body, type] of [
      [jsonl, 'application/x-ndjson'],
      [jsonl, 'application/x-ndjson'],
      [csv, 'text/csv'],
      [text, 'text/plain'],
    ] as const) {
      const again = await post(stack, '/runs?run=resume-a', body, type);
      assert.equal(again.status, 202, JSON.stringify(again.data));
      assert.deepEqual(
        [again.data.accepted, again.data.duplicates, again.data.rejected],
        [0, 20, 0],
        `${type}: ${JSON.stringify(again.data)}`,
      );
    }
    // The same settings named again are the run's: nothing is added either.
    const same = await post(stack, '/runs/resume-a/seeds?maxTurns=3&temperature=0.2', jsonl);
    assert.deepEqual([same.status, same.data.accepted, same.data.duplicates], [202, 0, 20]);
    const view = (await stack.http.get('/runs/resume-a')).data;
    assert.equal(view.seeds, 20);
  });

  it('an append naming other settings is refused with 409 naming the difference, or starts a new run with newRun=true', async () => {
    const first = await post(stack, '/runs?run=resume-b&maxTurns=3', jsonl);
    assert.equal(first.status, 202);
    const other = await post(stack, '/runs?run=resume-b&maxTurns=5', jsonl);
    assert.equal(other.status, 409, JSON.stringify(other.data));
    assert.equal(other.data.error.code, 'settings_conflict');
    assert.match(other.data.error.message, /maxTurns: the run has 3, this upload names 5/);
    assert.match(other.data.error.message, /newRun=true/);
    const extra = await post(stack, '/runs/resume-b/seeds?maxTurns=3&temperature=0.5', jsonl);
    assert.equal(extra.status, 409);
    assert.match(extra.data.error.message, /temperature: the run has none, this upload names 0.5/);
    assert.equal((await stack.http.get('/runs/resume-b')).data.seeds, 20);

    const fresh = await post(stack, '/runs?run=resume-b&maxTurns=5&newRun=true', jsonl);
    assert.equal(fresh.status, 202, JSON.stringify(fresh.data));
    assert.equal(fresh.data.created, true);
    assert.notEqual(fresh.data.runId, 'resume-b');
    assert.equal(fresh.data.requestedRun, 'resume-b');
    assert.equal(fresh.data.accepted, 20);
    assert.equal((await stack.http.get('/runs/resume-b')).data.seeds, 20);
    // newRun with the run's own settings appends to it (nothing new).
    const sameNew = await post(stack, '/runs?run=resume-b&newRun=true', jsonl);
    assert.deepEqual([sameNew.data.runId, sameNew.data.accepted, sameNew.data.duplicates], ['resume-b', 0, 20]);
  });

  it('two uploads creating the same run with different settings at once: one creates it, the other is refused', async () => {
    for (let round = 0; round < 5; round++) {
      const runId = `resume-race-${round}`;
      const [a, b] = await Promise.all([
        post(stack, `/runs?run=${runId}&maxTurns=2`, jsonl),
        post(stack, `/runs?run=${runId}&maxTurns=4`, jsonl),
      ]);
      assert.deepEqual([a.status, b.status].sort(), [202, 409], JSON.stringify([a.data, b.data]));
      const winner = a.status === 202 ? 2 : 4;
      const view = (await stack.http.get(`/runs/${runId}`)).data;
      assert.deepEqual([view.seeds, view.settings], [20, { maxTurns: winner }]);
    }
  });

  it('llmconv run --run <id> without --turns adds only what is missing; other settings fail, or --new-run starts a new run', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-resume-'));
    try {
      const file = path.join(tmp, 'seeds.jsonl');
      fs.writeFileSync(file, jsonl);
      const url = ['--url', stack.producerUrl!];
      const first = await cli(['run', file, '--turns', '3', ...url]);
      assert.equal(first.code, 0, first.stderr);
      const runId = first.stdout.trim();
      fs.writeFileSync(file, `${jsonl}${JSON.stringify({ initialQuery: 'One more question?' })}\n`);
      const resume = await cli(['run', file, '--run', runId, ...url]);
      assert.equal(resume.code, 0, resume.stderr);
      assert.match(resume.stderr, /accepted 1, duplicates 20, rejected 0/);
      const other = await cli(['run', file, '--run', runId, '--turns', '5', ...url]);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /maxTurns: the run has 3, this upload names 5/);
      const fresh = await cli(['run', file, '--run', runId, '--turns', '5', '--new-run', ...url]);
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.notEqual(fresh.stdout.trim(), runId);
      assert.match(
        fresh.stderr,
        new RegExp(`new run .* run ${runId} has other settings \\(maxTurns: the run has 3, this upload names 5\\)`),
      );
      assert.match(fresh.stderr, /accepted 21, duplicates 0/);
      const view = (await stack.http.get(`/runs/${runId}`)).data;
      assert.equal(view.seeds, 21);
      assert.deepEqual(view.settings, { maxTurns: 3 });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
