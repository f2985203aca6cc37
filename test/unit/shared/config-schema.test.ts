/** The config schema (shared/config/schema.ts): each key once, with its readers, and nothing read beside it. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LAMBDA_FIELDS } from '../../../lambda/lambda-config';
import { allKeyDocs, configTable } from '../../../scripts/config-table';
import { CONFIG_KEYS, describeReaders, fieldsReadBy, reader, SCHEMA, type ConfigProcess, type Env } from '../../../shared/config';

const ROOT = path.join(__dirname, '../../..');
const specs = Object.entries(SCHEMA);
const readersOf = new Map(CONFIG_KEYS.map((k) => [k.key, new Set(k.readBy)]));

/** The keys a field's parser reads from `env`. */
function keysRead(spec: (typeof specs)[number][1], env: Env): Set<string> {
  const r = reader(env);
  try {
    spec.parse(r, spec.key);
  } catch {
    // A bad sample value still records what was read.
  }
  return r.read;
}

describe('config schema', () => {
  it('defines each key once, and every key has at least one process that reads it', () => {
    const keys = CONFIG_KEYS.map((k) => k.key);
    assert.deepEqual(
      keys.filter((k, i) => keys.indexOf(k) !== i),
      [],
      'a key defined twice',
    );
    for (const k of CONFIG_KEYS) {
      assert.ok(k.readBy.length > 0, `${k.key} has no reader`);
      assert.ok(k.description.length > 0 && k.accepts.length > 0 && k.default.length > 0, `${k.key} is undocumented`);
    }
  });

  it('every key a parser reads is in the schema, and read by at least the processes of the fields that read it', () => {
    const samples: Env[] = [{}, Object.fromEntries(CONFIG_KEYS.map((k) => [k.key, '1']))];
    for (const [field, spec] of specs) {
      for (const env of samples) {
        for (const key of keysRead(spec, env)) {
          const readers = readersOf.get(key);
          assert.ok(readers, `${field} reads ${key}, which the schema does not define`);
          for (const p of spec.readBy) assert.ok(readers.has(p), `${field} (read by ${p}) reads ${key}, whose readers omit ${p}`);
        }
      }
    }
  });

  it('every environment key the code reads directly is in the schema or the emulators', () => {
    const documented = new Set(allKeyDocs().map((k) => k.key));
    // The OS's own, for the default data dir (stack/redis-data-dir.ts).
    const os = new Set(['HOME', 'XDG_STATE_HOME']);
    const dirs = fs
      .readdirSync(ROOT, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !['node_modules', 'dist', 'test', '.git'].includes(d.name) && !d.name.startsWith('.'));
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|js)$/.test(e.name)) {
          const text = fs.readFileSync(p, 'utf8');
          for (const m of text.matchAll(/\benv\??\.([A-Z][A-Z0-9_]+)|\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g)) {
            const key = m[1] ?? m[2]!;
            if (!documented.has(key) && !os.has(key)) found.push(`${path.relative(ROOT, p)}: ${key}`);
          }
        }
      }
    };
    for (const d of dirs) walk(path.join(ROOT, d.name));
    assert.deepEqual(found, [], 'keys read from the environment but missing from the config schema');
  });

  it('the README table lists every key with the processes that read it; JUDGE_RUBRIC_FILE is one (it was read but undocumented)', () => {
    const table = configTable();
    for (const k of CONFIG_KEYS) {
      const row = table.split('\n').find((l) => l.startsWith(`| \`${k.key}\` |`));
      assert.ok(row, `${k.key} has no row`);
      assert.ok(row.includes(`| ${describeReaders(k.readBy)} |`), `${k.key}'s row does not name its readers`);
    }
    assert.ok(CONFIG_KEYS.some((k) => k.key === 'JUDGE_RUBRIC_FILE'));
  });

  it("the Lambda's fields are the schema's lambda part, and every process that runs the handler in-process reads them", () => {
    assert.deepEqual([...LAMBDA_FIELDS].sort(), fieldsReadBy('lambda').sort());
    for (const p of ['producer', 'cloud-worker', 'gateway'] satisfies ConfigProcess[]) {
      const own = new Set(fieldsReadBy(p));
      for (const f of LAMBDA_FIELDS) assert.ok(own.has(f), `${p} runs the Lambda handler but does not read ${f}`);
    }
  });

  it('names the readers compactly', () => {
    assert.equal(describeReaders(['producer', 'cloud-worker', 'local-worker', 'transcript-worker', 'judge-worker']), 'producer, workers');
    assert.equal(describeReaders(['local-worker', 'judge-worker', 'lambda']), 'workers (local, judge), lambda');
    assert.equal(describeReaders(['transcript-worker']), 'worker (transcript)');
  });
});
