import { SHIPPED_CATALOG } from '../../../shared/model-catalog';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { runCli } from '../../../cli/main';
import { startTestStack, waitForConversation, type TestStack } from '../../helpers/test-stack';

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'bin/llmconv.js');

/** Runs the CLI in this process with captured output. */
async function cli(args: string[], opts: { tty?: boolean; env?: Record<string, string | undefined> } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s), isTTY: opts.tty },
    stderr: { write: (s: string) => (stderr += s) },
    env: opts.env ?? {},
  });
  return { code, stdout, stderr };
}

describe('llmconv CLI', function () {
  this.timeout(40_000);
  let stack: TestStack;
  let url: string;
  let tmp: string;

  before(async () => {
    stack = await startTestStack();
    url = stack.producerUrl!;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-cli-'));
  });
  afterEach(() => {
    stack.ollama!.faults.reset();
    stack.bedrock!.faults.reset();
  });
  after(async () => {
    await stack?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('`npx llmconv --help` works from the checkout', async () => {
    const { stdout } = await exec('npx', ['--no-install', 'llmconv', '--help'], { cwd: ROOT, timeout: 30_000 });
    assert.match(stdout, /^llmconv — /);
    for (const cmd of ['submit', 'follow <id>', 'transcript <id>', 'list', '--url', '--api-key']) assert.ok(stdout.includes(cmd), cmd);
  });

  it('the real binary submits and follows a conversation to the end', async () => {
    const { stdout, stderr } = await exec(
      process.execPath,
      [BIN, 'submit', 'Why do cats purr?', '--turns', '2', '--follow', '--url', url],
      { cwd: ROOT, timeout: 30_000 },
    );
    const id = stdout.split('\n')[0]!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(stderr, new RegExp(`live page:  ${url}/conversations/${id}`));
    assert.match(
      stdout,
      /── turn 1 ─+\n {2}question\n {4}Why do cats purr\?\n {2}cloud {2}amazon\.nova-micro-v1:0[^\n]+ in \/ \d+ out tokens · \d+ ms · \$\d+\.\d{6}\n {4}\[emulated bedrock/,
    );
    // The step's cost and the conversation's (Claude 3 Haiku is in the shipped price table, the local model costs 0).
    assert.match(stdout, /\n {2}cost: \$\d+\.\d+ \(cloud \$\d+\.\d+, local \$0\.0000\)\n/);
    assert.match(stdout, /── turn 2 /);
    assert.match(stdout, /\[█{24}\] 2\/2 turns/);
    assert.match(stdout, /✔ completed \(max_turns\) after 2 turn\(s\)/);
    assert.ok(stdout.includes(`transcript: ${url}/conversation/${id}/transcript`));
  });

  it('follow shows the turns as they arrive, redrawing a progress bar on a terminal', async () => {
    stack.ollama!.faults.set({ latencyMs: 150 });
    const res = await stack.http.post('/conversation', { initialQuery: 'Slowly, please', maxTurns: 3 });
    const out = await cli(['follow', res.data.conversationId, '--url', url], { tty: true });
    assert.equal(out.code, 0, out.stderr);
    // The bar is drawn in place (CR + erase line) as turns complete: 0/3 … 3/3.
    for (const k of [1, 2, 3]) assert.match(out.stdout, new RegExp(`\\r\\x1b\\[2K\\[[█░]{24}\\] ${k}/3 turns · running`));
    assert.match(out.stdout, /── turn 3 /);
    assert.match(out.stdout, /✔ completed/);
  });

  it('follow exits 3 when the conversation fails, naming the error', async () => {
    stack.bedrock!.faults.set({ faults: [{ kind: 'status', status: 400, message: 'Malformed input request: nope.' }] });
    const res = await stack.http.post('/conversation', { initialQuery: 'Doomed', maxTurns: 2 });
    const out = await cli(['follow', res.data.conversationId, '--url', url]);
    assert.equal(out.code, 3);
    assert.match(out.stdout, /✖ failed \(provider_error\) after 0 turn\(s\): cloud model: .*Malformed input request/);
  });

  it('transcript prints the CSV or saves it with --out; list shows recent conversations', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'Save me', maxTurns: 2 });
    const id = res.data.conversationId as string;
    await waitForConversation(stack, id);

    const printed = await cli(['transcript', id, '--url', url]);
    assert.equal(printed.code, 0);
    assert.match(printed.stdout, /^timestamp,query,cloud_response,ollama_response,processing_time_ms,/);
    const file = path.join(tmp, 'out.csv');
    const saved = await cli(['transcript', id, '--out', file, '--url', url]);
    assert.equal(saved.code, 0);
    assert.equal(saved.stderr, `wrote ${file} (2 rows)\n`);
    const rows = parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((r) => r.turn),
      ['1', '2'],
    );

    const list = await cli(['list', '--limit', '50', '--url', url]);
    assert.equal(list.code, 0);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+STATUS\s+TURNS\s+CREATED \(UTC\)\s+QUESTION$/);
    const mine = lines.find((l) => l.startsWith(id));
    assert.ok(mine, `listed: ${list.stdout}`);
    assert.match(mine, /completed\s+2\/2\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+Save me$/);
    assert.ok(lines.findIndex((l) => l.startsWith(id)) === 1, 'newest first');
  });

  it("estimate prints the worst-case cost of a seeds file, priced by the producer's table", async () => {
    const file = path.join(tmp, 'seeds.jsonl');
    fs.writeFileSync(file, '{"initialQuery": "abcd"}\n\nplain question here\n');
    const out = await cli(['estimate', file, '--turns', '2', '--max-tokens', '100', '--url', url]);
    assert.equal(out.code, 0, out.stderr);
    // 2 seeds x 2 turns x 2 sides; inputs: cloud 4 + 300 and 19 + 300, local 100 + 300 twice; outputs 100 per call.
    assert.match(out.stdout, /^2 conversation\(s\), up to 8 model calls \(2 turns, maxTokens 100, 3 turns of history\)\n/);
    assert.match(out.stdout, /worst case: 1423 input \+ 800 output tokens\n/);
    // The default cloud model's prices (Amazon Nova Micro in shared/model-catalog.json).
    const nova = SHIPPED_CATALOG.prices('amazon.nova-micro-v1:0')!;
    const cloudUsd = (623 * nova.inputPer1k + 400 * nova.outputPer1k) / 1000;
    assert.match(
      out.stdout,
      new RegExp(
        `cost at most: \\$${cloudUsd.toFixed(6)} \\(cloud amazon\\.nova-micro-v1:0: \\$${cloudUsd.toFixed(6)}, local llama3\\.2: \\$0\\.0000\\)`,
      ),
    );
    // `run --dry-run` prints the same estimate and submits nothing.
    const runsBefore = await fetch(`${url}/runs`).then((r) => r.json() as Promise<unknown[] | { runs?: unknown[] }>);
    const dry = await cli(['run', file, '--dry-run', '--turns', '2', '--max-tokens', '100', '--url', url]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, out.stdout);
    const runsAfter = await fetch(`${url}/runs`).then((r) => r.json() as Promise<unknown[] | { runs?: unknown[] }>);
    assert.deepEqual(runsAfter, runsBefore, 'a dry run creates no run');
    const empty = path.join(tmp, 'empty.jsonl');
    fs.writeFileSync(empty, '\n');
    const none = await cli(['estimate', empty, '--url', url]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /holds no seeds/);
  });

  it('explains usage errors (exit 2) and request errors (exit 1)', async () => {
    for (const args of [['frobnicate'], ['submit'], ['submit', 'q', '--turns', 'abc'], ['follow'], ['list', '--bogus'], []]) {
      const out = await cli([...args, '--url', url]);
      assert.equal(out.code, 2, args.join(' '));
      assert.match(out.stderr, /usage:/);
    }
    const unknown = await cli(['follow', '0b7e2c0e-3c1a-4b9e-9f00-000000000000', '--url', url]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /404 no conversation with id/);
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = await cli(['list', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(down.code, 1);
    assert.equal(
      down.stderr,
      `llmconv: cannot reach http://127.0.0.1:${port} (from --url): ECONNREFUSED. Is a producer running there? Start the local stack with \`npm start\`, or set --url (or LLMCONV_URL) to your producer\n`,
    );
    // From the environment, the message names the variable.
    const fromEnv = await cli(['list'], { env: { LLMCONV_URL: `http://127.0.0.1:${port}` } });
    assert.equal(fromEnv.code, 1);
    assert.match(
      fromEnv.stderr,
      new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port} \\(from LLMCONV_URL\\): ECONNREFUSED\\. .*set LLMCONV_URL`),
    );
    assert.match(fromEnv.stderr, /`npm start`/);
  });

  describe('against a producer with API_KEY', () => {
    let secured: TestStack;
    before(async () => {
      secured = await startTestStack({ API_KEY: 'cli-key' }, { roles: [] });
    });
    after(async () => {
      await secured?.close();
    });

    it('sends --api-key or --api-key-file, and says so when it is missing', async () => {
      const u = secured.producerUrl!;
      const denied = await cli(['list', '--url', u]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /401 missing or wrong API key/);
      assert.equal((await cli(['list', '--url', u, '--api-key', 'cli-key'])).code, 0);
      // LLMCONV_URL and LLMCONV_API_KEY stand in for --url and --api-key; a flag wins.
      assert.equal((await cli(['list'], { env: { LLMCONV_URL: u, LLMCONV_API_KEY: 'cli-key' } })).code, 0);
      assert.match((await cli(['list', '--api-key', 'wrong'], { env: { LLMCONV_URL: u, LLMCONV_API_KEY: 'cli-key' } })).stderr, /401/);
      const keyFile = path.join(tmp, 'key');
      fs.writeFileSync(keyFile, 'cli-key\n', { mode: 0o600 });
      const sub = await cli(['submit', 'With a key', '--url', u, '--api-key-file', keyFile]);
      assert.equal(sub.code, 0, sub.stderr);
      assert.match(sub.stdout, /^[0-9a-f-]{36}\n$/);
    });
  });
});
