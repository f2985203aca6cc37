import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../../cli/main';
import { startTestStack, type TestStack } from '../../helpers/test-stack';

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
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
