/**
 * Config per process, as an operator starts the processes: a bad key another process reads does
 * not stop this one (it logs a warning naming the key), a bad key of its own does. Real
 * `producer/main.ts` and `workers/main.ts` against the test Redis.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';
import { startProcess, type RunningProcess } from '../operate/processes';

describe('config per process: real entry points', function () {
  this.timeout(60_000);
  const started: RunningProcess[] = [];
  let out: string;
  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-scopes-'));
  });
  after(async () => {
    for (const p of started) await p.kill();
    fs.rmSync(out, { recursive: true, force: true });
  });
  const start = (entry: string, env: Record<string, string>) => {
    const p = startProcess(entry, { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: uniquePrefix('scopes'), LOG_LEVEL: 'info', ...env });
    started.push(p);
    return p;
  };
  const warnedAbout = (p: RunningProcess, key: string) => p.logs.some((l) => l.key === key && /ignored/.test(String(l.msg)));

  it('the producer starts with a bad worker-only key (OLLAMA_TIMEOUT_MS=abc), warning about it', async () => {
    const p = start('producer/main.ts', { PORT: '0', OLLAMA_TIMEOUT_MS: 'abc', OLLAMA_KEEP_ALIVE: 'forever' });
    await p.waitForLog((l) => l.msg === 'producer listening', 30_000);
    assert.ok(warnedAbout(p, 'OLLAMA_TIMEOUT_MS'), p.output());
    assert.ok(warnedAbout(p, 'OLLAMA_KEEP_ALIVE'), p.output());
  });

  it('a transcript worker starts with bad producer-only and local-only keys; a local worker refuses its own, naming it', async () => {
    const env = { METRICS_PORT: '0', OUTPUT_DIR: out, MAX_WAITS: '0', PORT: 'eighty', OLLAMA_TIMEOUT_MS: 'abc' };
    const w = start('workers/main.ts', { ...env, WORKER_ROLES: 'transcript' });
    await w.waitForLog((l) => l.msg === 'worker ready', 30_000);
    assert.ok(warnedAbout(w, 'MAX_WAITS') && warnedAbout(w, 'PORT'), w.output());
    const local = start('workers/main.ts', { ...env, WORKER_ROLES: 'local' });
    const exit = await local.exited;
    assert.equal(exit.code, 1, local.output());
    assert.match(local.output(), /configuration error: OLLAMA_TIMEOUT_MS="abc" is invalid/);
  });
});
