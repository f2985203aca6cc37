/**
 * `llmconv fork <id> --at-turn k …` against the real stack (Redis, emulators, gateway, workers,
 * producer over HTTP): the fork shares turns 1..k-1, carries the flags' settings, follows to its
 * end with --follow; a missing --at-turn is a usage error (exit 2), a turn past the fork's
 * maxTurns the producer's 400 (exit 1) with its message.
 */
import assert from 'node:assert/strict';
import { runCli } from '../../../cli/main';
import { JudgeStore } from '../../../store/judge-store';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';

describe('llmconv fork (real stack)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.close();
  });

  async function cli(args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runCli([...args, '--url', stack.producerUrl!], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: {},
    });
    return { code, stdout, stderr };
  }

  it('forks at turn 2 with the flags as settings, prints the new id and follows it to the end', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'Why do leaves change colour?', maxTurns: 3 });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const parent = await waitForConversation(stack, res.data.conversationId);
    const out = await cli([
      'fork',
      parent.conversationId,
      '--at-turn',
      '2',
      '--temperature',
      '0.3',
      '--persona',
      'a curious ten-year-old',
      '--system',
      'Answer in one sentence.',
      '--turns',
      '4',
      '--follow',
    ]);
    assert.equal(out.code, 0, out.stderr);
    const id = out.stdout.split('\n')[0]!;
    assert.notEqual(id, parent.conversationId);
    assert.match(out.stderr, new RegExp(`forked from ${parent.conversationId} at turn 2`));
    const view = await waitForConversation(stack, id);
    assert.equal(view.status, 'completed');
    assert.deepEqual(view.fork, { parentId: parent.conversationId, atTurn: 2 });
    assert.equal(view.maxTurns, 4);
    assert.equal(view.persona, 'a curious ten-year-old');
    assert.deepEqual(
      view.turns.map((t: { shared?: boolean }) => t.shared === true),
      [true, false, false, false],
    );
    const record = (await stack.store.get(id))!;
    assert.equal(record.settings.temperature, 0.3);
    assert.equal(record.settings.systemPrompts.cloud, 'Answer in one sentence.');
  });

  it("without --at-turn: a usage error naming it; past its maxTurns: the producer's 400, exit 1", async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'What is a rainbow?', maxTurns: 2 });
    const parent = await waitForConversation(stack, res.data.conversationId);
    const noTurn = await cli(['fork', parent.conversationId]);
    assert.equal(noTurn.code, 2);
    assert.match(noTurn.stderr, /fork needs --at-turn/);
    const badTemp = await cli(['fork', parent.conversationId, '--at-turn', '1', '--temperature', 'hot']);
    assert.equal(badTemp.code, 2);
    assert.match(badTemp.stderr, /--temperature must be a number/);
    const far = await cli(['fork', parent.conversationId, '--at-turn', '9']);
    assert.equal(far.code, 1);
    assert.match(far.stderr, /400 invalid fork request: atTurn: 9 is past the fork's maxTurns \(2\)/);
    assert.equal(far.stdout, '');
  });

  it("forks of a run's conversation by the CLI, scored, export with --format dpo --score --pairs all --min-margin", async () => {
    const up = await stack.http.post('/runs?run=cli-dpo&maxTurns=2', `${JSON.stringify({ initialQuery: 'How do magnets work?' })}\n`, {
      headers: { 'content-type': 'application/x-ndjson' },
      transformRequest: [(d) => d],
    });
    assert.equal(up.status, 202, JSON.stringify(up.data));
    await until(async () => (await stack.http.get('/runs/cli-dpo')).data.state !== 'active', 30_000, 'the run to finish');
    const [parentId] = (await stack.http.get('/runs/cli-dpo/conversations')).data.conversations.map(
      (c: { conversationId: string }) => c.conversationId,
    );
    const forks: string[] = [];
    for (const t of ['0.2', '1.0']) {
      const out = await cli(['fork', parentId, '--at-turn', '2', '--temperature', t]);
      assert.equal(out.code, 0, out.stderr);
      forks.push(out.stdout.trim());
      await waitForConversation(stack, forks.at(-1)!);
    }
    const judges = new JudgeStore(stack.store.redis, stack.config.queuePrefix);
    const scored = (h: number) => ({ status: 'scored' as const, scores: { h }, model: 'judge', attempts: 1, at: Date.now() });
    await judges.save(parentId, scored(3), 60);
    await judges.save(forks[0]!, scored(5), 60);
    await judges.save(forks[1]!, scored(2.5), 60);
    const pairs = async (...flags: string[]) => {
      const out = await cli(['export', 'cli-dpo', '--format', 'dpo', '--score', 'h', ...flags]);
      assert.equal(out.code, 0, out.stderr);
      return out.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).metadata)
        .map((m) => [m.chosen.conversationId, m.rejected.conversationId, m.margin]);
    };
    assert.deepEqual(await pairs(), [[forks[0], forks[1], 2.5]]);
    assert.deepEqual(await pairs('--pairs', 'all', '--min-margin', '1'), [
      [forks[0], parentId, 2],
      [forks[0], forks[1], 2.5],
    ]);
    const bad = await cli(['export', 'cli-dpo', '--format', 'dpo', '--pairs', 'many']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /pairs must be best/);
  });
});
