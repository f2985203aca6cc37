import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../../cli/main';
import { startTestStack, type TestStack } from '../../helpers/test-stack';

async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  });
  return { code, stdout, stderr };
}

describe('llmconv run / runs', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let tmp: string;

  before(async () => {
    stack = await startTestStack({}, { emulatorLatencyMs: 0 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-run-cli-'));
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('run streams the seed file, follows with a progress bar and exits 0 when every conversation completed', async () => {
    const file = path.join(tmp, 'seeds.jsonl');
    fs.writeFileSync(
      file,
      `${Array.from({ length: 40 }, (_, i) => JSON.stringify({ initialQuery: `CLI seed ${i % 30}` })).join('\n')}\nnot json\n`,
    );
    const r = await cli(['run', file, '--turns', '2', '--max-active', '5', '--name', 'cli-run', '--follow', '--url', stack.producerUrl!]);
    assert.equal(r.code, 0, r.stderr);
    const runId = r.stdout.trim();
    assert.match(r.stderr, /accepted 30, duplicates 10, rejected 1/);
    assert.match(r.stderr, /line 41: not valid JSON/);
    assert.match(r.stderr, /\[█{24}\] 30\/30 conversations .* finished/);
    const view = (await stack.http.get(`/runs/${runId}`)).data;
    assert.equal(view.byStatus.completed, 30);
    assert.equal(view.maxActive, 5);

    const again = await cli(['run', file, '--turns', '2', '--run', runId, '--url', stack.producerUrl!]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /accepted 0, duplicates 40, rejected 1/);

    const list = await cli(['runs', '--url', stack.producerUrl!]);
    assert.equal(list.code, 0);
    assert.match(list.stdout, new RegExp(`${runId}\\s+cli-run\\s+finished\\s+30/30`));
  });

  it('export names a run by its --name as well as its id, with LLMCONV_URL instead of --url; a shared name is refused, naming the ids', async () => {
    const env = { LLMCONV_URL: stack.producerUrl! };
    const byName = await cli(['export', 'cli-run', '--metadata'], env);
    assert.equal(byName.code, 0, byName.stderr);
    const lines = byName.stdout.trim().split('\n');
    assert.equal(lines.length, 30);
    const runId = (JSON.parse(lines[0]!) as { metadata: { runId: string } }).metadata.runId;
    assert.equal((await cli(['export', runId, '--metadata'], env)).stdout, byName.stdout, 'the same run by id');
    // A second run of the same name: the name no longer says which.
    const file = path.join(tmp, 'two.txt');
    fs.writeFileSync(file, 'another question\n');
    const second = await cli(['run', file, '--turns', '1', '--name', 'cli-run'], env);
    assert.equal(second.code, 0, second.stderr);
    const ambiguous = await cli(['export', 'cli-run'], env);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /2 runs are named "cli-run": .*; name one by its id/);
    assert.ok(ambiguous.stderr.includes(second.stdout.trim()), ambiguous.stderr);
    assert.ok(ambiguous.stderr.includes(runId), ambiguous.stderr);
    const none = await cli(['export', 'no such run'], env);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /404 no run with id "no such run"/);
  });

  it('run refuses a missing file and bad options before uploading', async () => {
    const missing = await cli(['run', path.join(tmp, 'nope.jsonl'), '--url', stack.producerUrl!]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read seed file/);
    const file = path.join(tmp, 'one.txt');
    fs.writeFileSync(file, 'one question\n');
    const bad = await cli(['run', file, '--options', '{"temperature": 7}', '--url', stack.producerUrl!]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /temperature/);
  });
});
