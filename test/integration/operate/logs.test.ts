import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createLogger } from '../../../shared/logger';
import { startTestStack, waitForConversation, type TestStack } from '../../helpers/test-stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');

/** A real pino destination that keeps every JSON line. */
function captureStream(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

describe('structured logs', function () {
  this.timeout(30_000);

  describe('from a running pipeline', () => {
    let stack: TestStack;
    const captured = captureStream();

    before(async () => {
      stack = await startTestStack({}, { logger: createLogger({ level: 'debug', name: 'stack', destination: captured.stream }) });
    });
    after(async () => {
      await stack?.close();
    });

    it('every line about a job names the conversation, turn, side, job id and attempt; prompts and replies only at debug', async () => {
      const marker = `MARKER-${Date.now()}`;
      const res = await stack.http.post('/conversation', { initialQuery: `Tell me about ${marker}`, maxTurns: 2 });
      const id = res.data.conversationId as string;
      await waitForConversation(stack, id);

      const lines = captured.lines().filter((l) => l.conversationId === id);
      const jobLines = lines.filter((l) => l.jobId !== undefined);
      // 2 cloud + 2 local replies recorded (info) and exchanged (debug), plus the transcript.
      assert.ok(jobLines.length >= 9, `expected the job lines of a 2-turn conversation, got ${jobLines.length}`);
      for (const l of jobLines) {
        assert.equal(typeof l.attempt, 'number', `attempt on ${l.msg}`);
        assert.ok(['cloud', 'local', 'transcript'].includes(l.side as string), `side on ${l.msg}`);
        assert.match(String(l.jobId), new RegExp(`^${id}-`));
        if (l.side !== 'transcript') assert.ok([1, 2].includes(l.turn as number), `turn on ${l.msg}`);
      }
      const recorded = jobLines.filter((l) => l.msg === 'cloud reply recorded' || l.msg === 'follow-up recorded');
      assert.deepEqual(recorded.map((l) => `${l.side}:${l.turn}`).sort(), ['cloud:1', 'cloud:2', 'local:1', 'local:2']);
      assert.ok(jobLines.some((l) => l.msg === 'transcript written' && l.side === 'transcript'));

      // The question text (and the model replies built from it) appear only on debug lines (level 20).
      const withText = captured.lines().filter((l) => JSON.stringify(l).includes(marker));
      assert.ok(withText.length > 0, 'debug lines carry the exchange');
      for (const l of withText) assert.equal(l.level, 20, `prompt text on a level ${String(l.level)} line: ${String(l.msg)}`);
      const debugExchange = jobLines.find((l) => l.msg === 'cloud exchange' && l.turn === 1);
      assert.ok(debugExchange && String(debugExchange.question).includes(marker));
    });
  });

  it('secrets are redacted wherever they are logged', () => {
    const captured = captureStream();
    const logger = createLogger({ level: 'info', destination: captured.stream });
    logger.info(
      {
        apiKey: 'k-1',
        config: { apiKey: 'k-2', boardPassword: 'p-1', apiGatewayApiKey: 'k-3' },
        req: { headers: { authorization: 'Bearer t-1', 'x-api-key': 'k-4', cookie: 's=1' } },
        aws: { secretAccessKey: 's-2', sessionToken: 't-2' },
      },
      'with secrets',
    );
    const text = JSON.stringify(captured.lines());
    for (const secret of ['k-1', 'k-2', 'k-3', 'k-4', 'p-1', 't-1', 't-2', 's-2', 's=1']) {
      assert.ok(!text.includes(`"${secret}"`) && !text.includes(`${secret}"`), `${secret} leaked: ${text}`);
    }
    assert.ok(text.includes('[redacted]'));
  });

  it("secrets are redacted at any depth and letter case, in arrays, errors and child bindings, without touching the caller's objects", () => {
    const captured = captureStream();
    const logger = createLogger({ level: 'trace', destination: captured.stream });
    const httpError = Object.assign(new Error('request failed'), {
      config: { url: 'http://gw/generate', headers: { 'X-Api-Key': 'k-5', Authorization: 'Bearer t-3' } },
    });
    const payload = {
      upstream: { request: { headers: { 'x-api-key': 'k-6' } } },
      attempts: [{ credentials: { accessKeyId: 'AKIA', secretAccessKey: 's-3' } }, { TOKEN: 't-4' }],
      err: httpError,
      inputTokens: 12,
    };
    const before = JSON.stringify(payload);
    logger.child({ password: 'p-2', conversationId: 'c-9' }).warn(payload, 'nested secrets');
    logger.error(httpError);
    const lines = captured.lines();
    const text = JSON.stringify(lines);
    for (const secret of ['k-5', 'k-6', 't-3', 't-4', 's-3', 'p-2']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    // What is not a secret stays: the error's message and stack, ordinary fields, the bindings' other keys.
    assert.equal(lines[0]!.err && (lines[0]!.err as { message: string }).message, 'request failed');
    assert.match(String((lines[1]!.err as { stack: string }).stack), /request failed/);
    assert.equal(lines[0]!.inputTokens, 12);
    assert.equal(lines[0]!.conversationId, 'c-9');
    assert.equal(JSON.stringify(payload), before, 'the logged object itself is unchanged');
    assert.equal(httpError.config.headers['X-Api-Key'], 'k-5');
  });

  it('pretty output for people: a real process prints readable lines, not JSON', async () => {
    const script =
      "const { createLogger } = require('./shared/logger'); const l = createLogger({ pretty: true, name: 'demo' }); l.info({ conversationId: 'c-1', turn: 2 }, 'hello operator');";
    const { stdout: raw } = await run(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, timeout: 20_000 });
    const stdout = raw.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(stdout, /INFO/);
    assert.match(stdout, /hello operator/);
    assert.match(stdout, /conversationId: "c-1"/);
    assert.throws(() => JSON.parse(stdout.split('\n')[0]!), 'not a JSON line');
  });
});
