import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { runCli } from '../../../cli/main';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';
import { writeRun } from '../../helpers/run-fixtures';
import { RunStore } from '../../../store/run-store';

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

describe('exporting a run whose conversations expired (real Redis and HTTP)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let redis: Redis;
  let tmp: string;

  before(async () => {
    stack = await startTestStack({}, { roles: [] });
    redis = new Redis(stack.redisUrl);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-expired-'));
  });
  after(async () => {
    redis?.disconnect();
    await stack?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Lets Redis expire the records of these conversations (a real TTL running out). */
  const expire = async (ids: string[]) => {
    for (const id of ids) for (const key of stack.store.recordKeys(id)) await redis.pexpire(key, 1);
    await until(async () => (await Promise.all(ids.map((id) => stack.store.get(id)))).every((r) => r === null), 5000, 'records to expire');
  };

  it('some conversations gone: 200 with what is left and X-Missing-Conversations counting the rest; the CLI warns', async () => {
    await new RunStore(redis, stack.store.shards).create('part-gone', '', undefined, 10);
    await writeRun(
      redis,
      stack.store,
      'part-gone',
      Array.from({ length: 5 }, (_, i) => ({ id: `pg-${i}` })),
    );
    await expire(['pg-1', 'pg-3']);
    const res = await stack.http.get('/runs/part-gone/export?format=openai');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-missing-conversations'], '2');
    assert.equal(res.headers['x-run-conversations'], '5');
    assert.equal(String(res.data).trim().split('\n').length, 3);
    const page = (await stack.http.get('/runs/part-gone/conversations')).data.conversations as { conversationId: string; status: string }[];
    assert.deepEqual(
      page.filter((c) => c.status === 'expired').map((c) => c.conversationId),
      ['pg-1', 'pg-3'],
    );
    const out = path.join(tmp, 'part.jsonl');
    const r = await cli(['export', 'part-gone', '--out', out, '--url', stack.producerUrl!]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: 2 of 5 conversations of run part-gone have expired and are not in this export/);
    assert.match(r.stderr, /3 conversations/);
  });

  it('every conversation gone: 410 conversations_expired naming them and RETENTION_SECONDS, never an empty 200', async () => {
    const ids = Array.from({ length: 4 }, (_, i) => `ag-${i}`);
    await writeRun(
      redis,
      stack.store,
      'all-gone',
      ids.map((id) => ({ id })),
    );
    await expire(ids);
    const res = await stack.http.get('/runs/all-gone/export?format=csv');
    assert.equal(res.status, 410, String(res.data).slice(0, 200));
    assert.equal(res.data.error.code, 'conversations_expired');
    assert.match(
      res.data.error.message,
      /all 4 conversations of run "all-gone" have expired \(finished conversations are kept RETENTION_SECONDS=\d+\)/,
    );
    assert.deepEqual(res.data.error.details.conversationIds, ids);
    const out = path.join(tmp, 'all.jsonl');
    const r = await cli(['export', 'all-gone', '--out', out, '--url', stack.producerUrl!]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /have expired/);
    assert.ok(!fs.existsSync(out), 'no empty file is left');
  });
});
