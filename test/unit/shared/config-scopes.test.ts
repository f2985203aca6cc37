/** Config per process: `loadConfig(env, { for })` validates only the keys that process reads (shared/config/load.ts). */
import assert from 'node:assert/strict';
import { CONFIG_PROCESSES, loadConfig, processesOf, type Env } from '../../../shared/config';
import { ConfigError } from '../../../shared/errors';

const rejects = (fn: () => unknown, key: string) =>
  assert.throws(fn, (err: unknown) => err instanceof ConfigError && err.key === key, `expected a ConfigError naming ${key}`);

describe('loadConfig(env, { for }): each process validates its own keys', () => {
  it('a bad worker-only key (OLLAMA_TIMEOUT_MS=abc) does not stop the producer; it stops a local worker and the whole stack', () => {
    const env: Env = { OLLAMA_TIMEOUT_MS: 'abc', WORKER_ROLES: 'local' };
    const ignored: ConfigError[] = [];
    const producer = loadConfig(env, { for: 'producer', ignored: (e) => ignored.push(e) });
    assert.equal(producer.ollamaTimeoutMs, 120000, 'the field outside the scope takes its default');
    assert.deepEqual(
      ignored.map((e) => e.key),
      ['OLLAMA_TIMEOUT_MS'],
      'reported once, though two fields read it (OLLAMA_TIMEOUT_MS, and OPENAI_TIMEOUT_MS falling back on it)',
    );
    assert.equal(producer.openaiTimeoutMs, 120000);
    rejects(() => loadConfig(env, { for: 'worker' }), 'OLLAMA_TIMEOUT_MS');
    rejects(() => loadConfig(env, { for: 'local-worker' }), 'OLLAMA_TIMEOUT_MS');
    rejects(() => loadConfig(env), 'OLLAMA_TIMEOUT_MS');
    rejects(() => loadConfig(env, { for: 'stack' }), 'OLLAMA_TIMEOUT_MS');
  });

  it('a bad producer-only key (PORT, MAX_WAITS, BOARD_PASSWORD alone) does not stop a worker; it stops the producer', () => {
    for (const [key, value] of [
      ['PORT', 'eighty'],
      ['MAX_WAITS', '0'],
      ['BOARD_PASSWORD', 'secret'],
      ['REDIS_MEMORY_REFUSE_RATIO', '2'],
    ] as const) {
      const env: Env = { [key]: value, WORKER_ROLES: 'cloud,local,transcript,judge' };
      const worker = loadConfig(env, { for: 'worker' });
      assert.deepEqual(worker.workerRoles, ['cloud', 'local', 'transcript', 'judge']);
      rejects(() => loadConfig(env, { for: 'producer' }), key === 'BOARD_PASSWORD' ? 'BOARD_USERNAME' : key);
      rejects(() => loadConfig(env), key === 'BOARD_PASSWORD' ? 'BOARD_USERNAME' : key);
    }
  });

  it("a worker's part is the roles in WORKER_ROLES: a transcript worker ignores the local side's keys, a local worker does not", () => {
    const env: Env = { OLLAMA_KEEP_ALIVE: 'forever', CLOUD_CONCURRENCY: '0' };
    assert.equal(loadConfig({ ...env, WORKER_ROLES: 'transcript' }, { for: 'worker' }).ollamaKeepAlive, '30m');
    rejects(() => loadConfig({ ...env, WORKER_ROLES: 'transcript,local' }, { for: 'worker' }), 'OLLAMA_KEEP_ALIVE');
    rejects(() => loadConfig({ ...env, WORKER_ROLES: 'cloud' }, { for: 'worker' }), 'CLOUD_CONCURRENCY');
    assert.deepEqual([...processesOf({ WORKER_ROLES: 'judge,transcript' }, 'worker')].sort(), ['judge-worker', 'transcript-worker']);
  });

  it('a bad WORKER_ROLES stops every worker, not the producer', () => {
    rejects(() => loadConfig({ WORKER_ROLES: 'bogus' }, { for: 'worker' }), 'WORKER_ROLES');
    assert.equal(loadConfig({ WORKER_ROLES: 'bogus' }, { for: 'producer' }).port, 8080);
  });

  it("a deploy file's placeholder in another process's key is ignored, in its own refused", () => {
    const env: Env = { OPENAI_API_KEY: '__SET_ME__' };
    assert.equal(loadConfig(env, { for: 'producer' }).openaiApiKey, undefined);
    rejects(() => loadConfig({ ...env, WORKER_ROLES: 'local' }, { for: 'worker' }), 'OPENAI_API_KEY');
  });

  it("valid values outside a process's part still apply: a scoped load of a good environment equals the full load", () => {
    const env: Env = {
      PORT: '9000',
      OLLAMA_TIMEOUT_MS: '5000',
      OLLAMA_HOSTS: 'http://a:11434*2,http://b:11434',
      LOCAL_CONCURRENCY: '3',
      CLOUD_LIMITS: '{"m": {"rpm": 5}}',
      WORKER_ROLES: 'cloud,judge',
      RUN_MAX_ACTIVE: '10',
      MAX_TURNS: '7',
      JUDGE_RUBRIC_FILE: 'rubric.json',
    };
    const full = loadConfig(env);
    for (const p of CONFIG_PROCESSES) assert.deepEqual(loadConfig(env, { for: p }), full, p);
    assert.deepEqual(loadConfig(env, { for: 'worker' }), full, 'worker');
  });
});
