/**
 * SECURITY.md stays true: it has the sections the issue asks for (threat model per deploy form,
 * the settings, reporting, dependencies, and the two sections filled at merge), every setting it
 * names is a config key, and every test file it cites exists.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS } from '../../shared/config';

const ROOT = path.resolve(__dirname, '..', '..');
const text = fs.readFileSync(path.join(ROOT, 'SECURITY.md'), 'utf8');

describe('security: SECURITY.md', () => {
  it('has the threat model, the settings, reporting, dependencies, and the sections for several callers and bounds', () => {
    const headings = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    for (const h of ['Reporting a problem', 'Who may reach what', 'The settings', 'Several callers', 'Bounds', 'Dependencies'])
      assert.ok(headings.includes(h), `## ${h}`);
    for (const deploy of ['npm start', 'docker-compose.yml', 'deploy/systemd', 'deploy/template.yaml'])
      assert.ok(text.includes(deploy), deploy);
    assert.match(text, /npm audit/);
  });

  it('names only real settings and real tests', () => {
    const keys = new Set(CONFIG_KEYS.map((k) => k.key));
    for (const k of [
      'API_KEY',
      'ALLOW_UNAUTHENTICATED',
      'ALLOWED_HOSTS',
      'BOARD_USERNAME',
      'BOARD_PASSWORD',
      'API_GATEWAY_API_KEY',
      'PROMPT_MAX_CHARS',
    ]) {
      assert.ok(keys.has(k), `${k} is a config key`);
      assert.ok(text.includes(`\`${k}\``), `SECURITY.md names ${k}`);
    }
    for (const [, file] of text.matchAll(/`([\w-]+\.test\.ts)`/g))
      assert.ok(fs.existsSync(path.join(ROOT, 'test', 'security', file!)), `test/security/${file}`);
    for (const [, file] of text.matchAll(/`((?:shared|producer|runs)\/[\w/-]+\.ts)`/g))
      assert.ok(fs.existsSync(path.join(ROOT, file!)), file);
  });
});
