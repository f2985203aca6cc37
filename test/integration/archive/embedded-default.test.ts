/**
 * The embedded default (issue 25): `npm start`'s stack on its embedded Redis, with no ARCHIVE_URL,
 * archives to SQLite beside the Redis data dir (`<state>/llmconv/archive.sqlite` for the default
 * `<state>/llmconv/redis`), and a second start on the same state dir reads the conversation the
 * first one finished once Redis no longer has it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { startLocalStack, type LocalStack } from '../../../stack/local-stack';
import { FAST_ENV, until } from '../../helpers/test-stack';

describe('the embedded default archive: SQLite beside the embedded Redis (npm start)', function () {
  this.timeout(90_000);
  let state: string;
  let stack: LocalStack | undefined;

  before(() => {
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-state-'));
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(state, { recursive: true, force: true });
  });

  const start = () =>
    startLocalStack({
      embeddedData: 'persistent',
      env: {
        ...FAST_ENV,
        REDIS_DATA_DIR: path.join(state, 'redis'),
        OUTPUT_DIR: path.join(state, 'out'),
        EMULATOR_LATENCY_MS: '0',
        REDIS_RETENTION_SECONDS: '1',
        HOST: '127.0.0.1',
      },
    });

  it('writes <state>/archive.sqlite, and a restarted stack answers from it', async () => {
    stack = await start();
    assert.ok(stack.archive, 'an archive without ARCHIVE_URL');
    const http = axios.create({ baseURL: stack.producerUrl, validateStatus: () => true });
    const res = await http.post('/conversation', { initialQuery: 'Where does the archive live?', maxTurns: 1 });
    assert.equal(res.status, 202);
    const id: string = res.data.conversationId;
    await until(async () => (await stack!.archive!.count()) === 1, 30_000, 'archived');
    const fresh = (await http.get(`/conversation/${id}`)).data;
    assert.ok(fs.existsSync(path.join(state, 'archive.sqlite')), 'beside the redis data dir');
    const recordKey = stack.store.recordKeys(id)[0];
    await until(async () => (await stack!.store.redis.exists(recordKey)) === 0, 20_000, 'Redis to drop it');
    await stack.close();
    stack = undefined;

    stack = await start();
    const again = axios.create({ baseURL: stack.producerUrl, validateStatus: () => true });
    const view = await again.get(`/conversation/${id}`);
    assert.equal(view.status, 200);
    assert.deepEqual(view.data, fresh, 'the same view, from the archive');
  });
});
