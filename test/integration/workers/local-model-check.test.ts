import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { Ollama } from 'ollama';
import { startOllamaEmulator, type EmulatorHandle } from '../../../emulators/ollama-emulator';
import { LocalModelRegistry } from '../../../store/local-models';
import { createLogger } from '../../../shared/logger';
import { startMetricsServer } from '../../../shared/metrics-server';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';
import { startLocalModelCheck } from '../../../workers/local-model-check';

/** A real pino logger whose lines are kept for the test to read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', pretty: false, destination }), lines };
}

describe('local worker model check against the Ollama emulator (real ollama client, real Redis)', () => {
  let redis: Redis;
  let emu: EmulatorHandle | undefined;

  before(() => {
    redis = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    await emu?.close();
    emu = undefined;
  });
  after(async () => {
    await redis.quit();
  });

  it('refuses to start when the model is not pulled, saying exactly what to run', async () => {
    emu = await startOllamaEmulator({ models: ['llama3.2'] });
    const { logger } = capturingLogger();
    await assert.rejects(
      startLocalModelCheck({ host: emu.url, model: 'qwen3:0.6b', pull: false, logger }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'model_not_found');
        assert.equal(
          err.message,
          `Ollama at ${emu!.url} has no model "qwen3:0.6b": run \`ollama pull qwen3:0.6b\` on that host, or set OLLAMA_PULL=true to let the worker pull it at start`,
        );
        return true;
      },
    );
    assert.equal(emu.stats().byRoute.chat, undefined, 'no warm-up of a missing model');
  });

  it('with OLLAMA_PULL pulls the model with throttled percent progress in the log, then loads it with keep_alive', async () => {
    emu = await startOllamaEmulator({ models: [], pullStepMs: 5 });
    const { logger, lines } = capturingLogger();
    const check = await startLocalModelCheck({
      host: emu.url,
      model: 'qwen3:0.6b',
      pull: true,
      keepAlive: '30m',
      logger,
      progressEveryMs: 1_000_000,
    });
    check.stop();
    const progress = lines.filter((l) => typeof l.percent === 'number');
    // Throttled: the first tick, then one line per finished layer (3 layers, 4 ticks each): 4 lines, not 12.
    assert.equal(progress.length, 4);
    assert.equal(progress.at(-1)!.percent, 100);
    assert.ok(
      progress.every((l) => /^pulling qwen3:0\.6b: \d+%$/.test(String(l.msg))),
      JSON.stringify(progress.map((l) => l.msg)),
    );
    const said = lines.map((l) => String(l.msg));
    for (const status of ['pulling manifest', 'verifying sha256 digest', 'writing manifest', 'success'])
      assert.ok(said.includes(`pulling qwen3:0.6b: ${status}`), status);
    assert.ok(said.includes('pulled qwen3:0.6b'));
    assert.ok(said.includes('model "qwen3:0.6b" loaded'));
    // Loaded now, for the configured keep_alive (ollama/ollama server/routes.go: a chat without messages only loads).
    const ps = await new Ollama({ host: emu.url }).ps();
    assert.deepEqual(
      ps.models.map((m) => m.name),
      ['qwen3:0.6b'],
    );
    assert.ok(new Date(ps.models[0]!.expires_at).getTime() - Date.now() > 25 * 60_000);
  });

  it("a pull the registry cannot serve fails the start with Ollama's message", async () => {
    emu = await startOllamaEmulator({ models: [], registry: ['llama3.2'] });
    const { logger } = capturingLogger();
    await assert.rejects(
      startLocalModelCheck({ host: emu.url, model: 'no-such-model', pull: true, logger }),
      /pulling model "no-such-model" .* failed: pull model manifest: file does not exist/,
    );
  });

  it("publishes this Ollama's models for the producer, and /ready follows the model", async () => {
    emu = await startOllamaEmulator({ models: ['llama3.2', 'qwen3:0.6b'] });
    const registry = new LocalModelRegistry(redis, uniquePrefix());
    assert.equal((await registry.lookup('llama3.2')).present, undefined, 'nothing reported yet: unknown');
    const { logger } = capturingLogger();
    const check = await startLocalModelCheck({ host: emu.url, model: 'llama3.2', pull: false, logger, registry, refreshMs: 50 });
    const metrics = await startMetricsServer({
      metrics: { metrics: async () => '', contentType: 'text/plain' },
      port: 0,
      ready: () => check.ready(),
    });
    try {
      assert.deepEqual(await registry.lookup('llama3.2'), { present: true, available: ['llama3.2:latest', 'qwen3:0.6b'] });
      assert.equal((await registry.lookup('mistral')).present, false);
      const ok = await fetch(`${metrics.url}/ready`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { status: 'ready' });

      await new Ollama({ host: emu.url }).delete({ model: 'llama3.2' });
      const gone = await fetch(`${metrics.url}/ready`);
      assert.equal(gone.status, 503);
      assert.match(((await gone.json()) as { reason: string }).reason, /ollama pull llama3\.2/);
      // The next report no longer lists it.
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(await registry.lookup('llama3.2'), { present: false, available: ['qwen3:0.6b'] });
    } finally {
      check.stop();
      await metrics.close();
    }
  });

  it('reports expire: a worker that stopped publishing stops counting', async () => {
    const registry = new LocalModelRegistry(redis, uniquePrefix());
    await registry.publish(['llama3.2'], 100);
    assert.equal((await registry.lookup('llama3.2:latest')).present, true);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await registry.lookup('llama3.2')).present, undefined);
  });
});
