/**
 * Issue 21, part 1: a process bound off loopback refuses to start without its key unless
 * ALLOW_UNAUTHENTICATED=true, in one line naming both settings. Real child processes, as an
 * operator starts them: `npm run producer`, `npm start` and `npm run gateway`, bound to 0.0.0.0
 * (without the check each of them would listen, and the test fails on the timeout).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalGateway } from '../../lambda/local-gateway';
import { isLoopbackHost, openBindProblem } from '../../shared/bind-guard';
import { ConfigError } from '../../shared/errors';
import { testRedisUrl, uniquePrefix } from '../helpers/redis';

const ROOT = path.resolve(__dirname, '..', '..');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `entry` with `env` until it exits (failing the test if it does not within `timeoutMs`). */
function run(entry: string, env: Record<string, string>, timeoutMs = 30_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin', HOME: os.tmpdir(), LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} did not exit within ${timeoutMs} ms (it should refuse to start):\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('security: start-up refusal off loopback without a key', function () {
  this.timeout(60_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-refusal-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** The one line the refusal prints: the process, the bind, and both settings. */
  const refusalLine = (out: Outcome, keyName: string) => {
    const lines = out.stderr
      .trim()
      .split('\n')
      .filter((l) => l.includes('refuses to start'));
    assert.equal(lines.length, 1, `one refusal line, got:\n${out.stderr}`);
    const line = lines[0]!;
    assert.match(line, /HOST=0\.0\.0\.0/);
    assert.match(line, new RegExp(`\\b${keyName}\\b`));
    assert.match(line, /ALLOW_UNAUTHENTICATED=true/);
    return line;
  };

  it('npm run producer on 0.0.0.0 without API_KEY exits non-zero with one line naming API_KEY and ALLOW_UNAUTHENTICATED', async () => {
    const out = await run('producer/main.ts', {
      HOST: '0.0.0.0',
      PORT: '0',
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix('refuse'),
    });
    assert.notEqual(out.code, 0);
    const line = refusalLine(out, 'API_KEY');
    console.log(`      [figures] producer refusal ${JSON.stringify({ exitCode: out.code, line })}`);
  });

  it('npm start (the whole stack) on 0.0.0.0 without API_KEY refuses before starting Redis or any emulator', async () => {
    const started = Date.now();
    const out = await run('stack/main.ts', {
      HOST: '0.0.0.0',
      PORT: '0',
      REDIS_DATA_DIR: path.join(tmp, 'redis-data'),
      OUTPUT_DIR: path.join(tmp, 'out'),
    });
    assert.notEqual(out.code, 0);
    refusalLine(out, 'API_KEY');
    // Nothing was started: the data dir (created by the embedded Redis) is not there.
    assert.equal(fs.existsSync(path.join(tmp, 'redis-data')), false, 'no embedded Redis was started');
    console.log(`      [figures] stack refusal ${JSON.stringify({ exitCode: out.code, ms: Date.now() - started })}`);
  });

  it('npm run gateway on 0.0.0.0 without API_GATEWAY_API_KEY exits non-zero naming API_GATEWAY_API_KEY and ALLOW_UNAUTHENTICATED', async () => {
    const out = await run('lambda/main.ts', { HOST: '0.0.0.0', GATEWAY_PORT: '0', BEDROCK_ENDPOINT: 'http://127.0.0.1:9' });
    assert.notEqual(out.code, 0);
    refusalLine(out, 'API_GATEWAY_API_KEY');
  });

  it('in process: the gateway on 0.0.0.0 starts with its key or ALLOW_UNAUTHENTICATED, and refuses without; loopback needs none', async () => {
    await assert.rejects(
      startLocalGateway({ host: '0.0.0.0' }),
      (err: Error) => err instanceof ConfigError && /API_GATEWAY_API_KEY/.test(err.message),
    );
    for (const opts of [{ host: '0.0.0.0', apiKey: 'gw-key' }, { host: '0.0.0.0', allowUnauthenticated: true }, { host: '127.0.0.1' }]) {
      const gw = await startLocalGateway({ ...opts, handler: async () => ({ statusCode: 200, body: 'ok' }) });
      await gw.close();
    }
  });

  it('knows loopback binds from the others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1', 'LOCALHOST'])
      assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'myhost', '::ffff:10.0.0.1', '128.0.0.1'])
      assert.equal(isLoopbackHost(h), false, h);
    const base = { what: 'producer', hostKey: 'HOST', host: '0.0.0.0', keyName: 'API_KEY', keySet: false, allowUnauthenticated: false };
    assert.ok(openBindProblem(base));
    assert.equal(openBindProblem({ ...base, keySet: true }), undefined);
    assert.equal(openBindProblem({ ...base, allowUnauthenticated: true }), undefined);
    assert.equal(openBindProblem({ ...base, host: '127.0.0.1' }), undefined);
  });
});
