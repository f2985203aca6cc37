/**
 * The archive's retention (`llmconv prune`, `DELETE /archive`) on the embedded default, SQLite,
 * through the whole pipeline: conversations finish, are archived, and `prune --before` removes
 * them from the archive and their transcripts from OUTPUT_DIR together; bad input is a 400 naming
 * the fault; a stack without an archive answers 409 naming ARCHIVE_URL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../../cli/main';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';

async function cli(stack: TestStack, args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...args, '--url', stack.producerUrl!], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  });
  return { code, stdout, stderr };
}

describe('llmconv prune: the archive and the transcripts together (SQLite, the whole pipeline)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-prune-'));
    stack = await startTestStack({ ARCHIVE_URL: `sqlite:${path.join(dir, 'archive.sqlite')}`, EMULATOR_LATENCY_MS: '0' });
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('removes what finished before the date, with its transcript files; a later date keeps nothing back', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await stack.http.post('/conversation', { initialQuery: `Prune question ${i}`, maxTurns: 1 });
      assert.equal(res.status, 202);
      ids.push(res.data.conversationId);
    }
    const files: string[] = [];
    for (const id of ids) files.push((await waitForConversation(stack, id)).transcriptFile);
    await until(async () => (await stack.store.unarchivedCount()) === 0, 20_000, 'archived');
    assert.equal(await stack.archive!.count(), 3);
    for (const f of files) assert.ok(fs.existsSync(f), f);

    // Before a date long past: nothing goes.
    const none = await cli(stack, ['prune', '--before', '2001-01-01']);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /removed 0 archived conversation\(s\) and 0 transcript\(s\)/);
    assert.equal(await stack.archive!.count(), 3);

    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const all = await cli(stack, ['prune', '--before', tomorrow]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /removed 3 archived conversation\(s\) and 3 transcript\(s\)/);
    assert.equal(await stack.archive!.count(), 0);
    for (const f of files) assert.ok(!fs.existsSync(f), `${f} removed`);
  });

  it('bad input is a 400 naming the fault; the CLI refuses a prune without --before or --run', async () => {
    const bad = await stack.http.delete('/archive?before=last-tuesday');
    assert.equal(bad.status, 400);
    assert.match(bad.data.error.message, /before must be an ISO date/);
    const neither = await stack.http.delete('/archive');
    assert.equal(neither.status, 400);
    assert.match(neither.data.error.message, /before=<date>.*run=<id>/);
    const usage = await cli(stack, ['prune']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /prune needs --before <date> or --run <id>/);
  });
});

describe('DELETE /archive without an archive', function () {
  this.timeout(60_000);
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ ARCHIVE_URL: 'off' });
  });
  after(async () => stack?.close());

  it('answers 409 naming ARCHIVE_URL', async () => {
    const res = await stack.http.delete('/archive?before=2026-01-01');
    assert.equal(res.status, 409);
    assert.match(res.data.error.message, /ARCHIVE_URL=off/);
  });
});
