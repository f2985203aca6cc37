/**
 * The README's first screen: the three commands from a seed file to a dataset work as written.
 * Command 1 (`npm install && npm start`) is the local stack (`stack/main.ts` runs
 * `startLocalStack`, which the test stack starts here on a free port); commands 2 and 3 run
 * verbatim in a shell at the repository's root, `npx llmconv` and all, with `LLMCONV_URL` naming
 * that stack instead of the default :8080.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestStack, type TestStack } from '../helpers/test-stack';

const ROOT = path.join(__dirname, '../..');
const START = '<!-- seed-to-dataset:start -->';
const END = '<!-- seed-to-dataset:end -->';

/** The commands of the README's seed-to-dataset block, without their comments. */
function readmeCommands(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  assert.ok(a >= 0 && b > a, `README.md keeps the ${START} … ${END} block`);
  assert.ok(a < 3000, 'the block is on the first screen');
  return readme
    .slice(a + START.length, b)
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('```'))
    .map((l) => l.replace(/\s+# .*$/, '').trim());
}

describe('README: from a seed file to a dataset in three commands', function () {
  this.timeout(120_000);
  let stack: TestStack;
  const out = path.join(ROOT, 'dataset.jsonl');
  const aside = `${out}.before-readme-test`;

  before(async () => {
    // Keep a dataset.jsonl someone made at the root by following the README.
    if (fs.existsSync(out)) fs.renameSync(out, aside);
    stack = await startTestStack({}, { emulatorLatencyMs: 0 });
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(out, { force: true });
    if (fs.existsSync(aside)) fs.renameSync(aside, out);
  });

  it('npm start, llmconv run examples/seeds.jsonl, llmconv export: one dataset line per seed, with its meta', async () => {
    const commands = readmeCommands();
    assert.equal(commands.length, 3, commands.join('\n'));
    const [start, run, exp] = commands as [string, string, string];
    assert.equal(start, 'npm install && npm start');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.scripts.start, 'tsx stack/main.ts');
    assert.match(fs.readFileSync(path.join(ROOT, 'stack/main.ts'), 'utf8'), /startLocalStack\(/);

    const sh = promisify(execFile);
    const env = { ...process.env, LLMCONV_URL: stack.producerUrl! };
    const ran = await sh('sh', ['-c', run], { cwd: ROOT, env });
    const runId = ran.stdout.trim();
    assert.ok(runId, ran.stderr);
    assert.match(ran.stderr, /accepted 10, duplicates 0, rejected 0/);
    const view = (await stack.http.get(`/runs/${runId}`)).data;
    assert.equal(view.name, 'first');
    assert.equal(view.byStatus.completed, 10, JSON.stringify(view.byStatus));

    const exported = await sh('sh', ['-c', exp], { cwd: ROOT, env });
    assert.ok(fs.existsSync(out), exported.stderr);
    const lines = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const seeds = fs
      .readFileSync(path.join(ROOT, 'examples/seeds.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(seeds.length, 10);
    assert.equal(lines.length, seeds.length);
    for (const line of lines) {
      assert.equal(line.metadata.runId, runId);
      assert.equal(line.messages.at(-1).role, 'assistant');
      assert.ok(line.messages.some((m: any) => m.role === 'user'));
    }
    // A seed's own `id` travels in its meta beside the rest.
    const canonical = (o: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));
    assert.deepEqual(
      lines.map((l) => canonical(l.metadata.meta)).sort(),
      seeds.map((s) => canonical({ ...s.meta, ...(s.id ? { id: s.id } : {}) })).sort(),
      "each seed's meta is carried into its dataset line",
    );
  });
});
