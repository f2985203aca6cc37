import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../shared/config';
import { ConfigError } from '../../../shared/errors';

describe('CLOUD_LIMITS_FILE / CLOUD_LIMITS (per-model cloud limits)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'limits-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fails = (env: Record<string, string>, key: string, message: RegExp) =>
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && err.key === key && message.test(err.message),
    );

  it('reads the file and the inline JSON, inline entries winning', () => {
    const file = path.join(dir, 'limits.json');
    fs.writeFileSync(file, JSON.stringify({ a: { rpm: 10, tpm: 1000 }, b: { tpm: 5 } }));
    const config = loadConfig({ CLOUD_LIMITS_FILE: file, CLOUD_LIMITS: '{"b": {"rpm": 2}}' });
    assert.deepEqual(config.cloudLimits, { a: { rpm: 10, tpm: 1000 }, b: { rpm: 2 } });
    assert.deepEqual(loadConfig({}).cloudLimits, {});
  });

  it('names the key and the fault: unreadable file, bad JSON, unknown field, bad number', () => {
    fails({ CLOUD_LIMITS_FILE: path.join(dir, 'missing.json') }, 'CLOUD_LIMITS_FILE', /cannot be read/);
    fails({ CLOUD_LIMITS: '{nope' }, 'CLOUD_LIMITS', /not valid JSON/);
    fails({ CLOUD_LIMITS: '{"m": {"rps": 3}}' }, 'CLOUD_LIMITS', /"m" has unknown field\(s\) rps; allowed: rpm, tpm/);
    fails({ CLOUD_LIMITS: '{"m": {"tpm": 0}}' }, 'CLOUD_LIMITS', /"m"\.tpm must be an integer >= 1/);
    fails({ CLOUD_LIMITS: '[1]' }, 'CLOUD_LIMITS', /must be a JSON object/);
  });
});
