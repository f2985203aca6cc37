/**
 * Personas and goals through the real pipeline (emulators): the persona and goal reach the local
 * model's follow-up template, `stop.goalMet` asks the judge role (the cloud model behind the local
 * API Gateway and the real Lambda) after every k-th turn, and a met goal ends the conversation
 * `completed` with stop reason `goal_met`, the verdict recorded with the follow-up it judged.
 * The emulator's verdict is deterministic: `[emulate:goal-met-after:N]` is met once turn N's
 * follow-up is in the transcript (emulators/README.md).
 */
import assert from 'node:assert/strict';
import { CancelRegistry } from '../../../coordination/cancel-registry';
import { createGatewayBackend, createOllamaBackend } from '../../../providers/create-providers';
import { jobIds } from '../../../queue/job-types';
import { createCloudProcessor } from '../../../workers/cloud-step';
import { createLocalProcessor } from '../../../workers/local-step';
import { startTestStack, waitForConversation, type TestStack } from '../../helpers/test-stack';

describe('personas and stop.goalMet (real pipeline, emulators)', function () {
  this.timeout(90_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.close();
  });

  async function finished(body: Record<string, unknown>) {
    const res = await stack.http.post('/conversation', body);
    assert.equal(res.status, 202, JSON.stringify(res.data));
    return waitForConversation(stack, res.data.conversationId, 60_000);
  }

  it('the persona reaches the follow-up template ({{persona}}, {{goal}})', async () => {
    const view = await finished({
      initialQuery: 'How do I choose a database?',
      maxTurns: 1,
      persona: { role: 'startup CTO', language: 'English' },
      goal: 'pick one for a small team',
      templates: { followUp: 'As {{persona}} wanting to {{goal}}, reply to: {{answer}}' },
    });
    assert.equal(view.status, 'completed');
    assert.deepEqual(view.persona, { role: 'startup CTO', language: 'English' });
    assert.equal(view.goal, 'pick one for a small team');
    // The Ollama emulator quotes the start of its prompt.
    assert.match(view.turns[0].ollamaResponse, /As role: startup CTO; language: English wanting to pick/);
  });

  it('a goal met at turn 2 ends the conversation goal_met after 2 of 5 turns, each check recorded with its follow-up', async () => {
    const view = await finished({
      initialQuery: 'Help me plan a trip to Lisbon.',
      maxTurns: 5,
      goal: 'a day-by-day plan [emulate:goal-met-after:2]',
      stop: { goalMet: { every: 1 } },
    });
    assert.equal(view.status, 'completed');
    assert.equal(view.stopReason, 'goal_met');
    assert.equal(view.turns.length, 2);
    assert.equal(view.turns[0].local.goal.met, false);
    assert.equal(view.turns[1].local.goal.met, true);
    assert.equal(view.turns[1].local.goal.model, 'amazon.nova-micro-v1:0');
  });

  it('every: 2 checks only after even turns; a goal never met runs to maxTurns', async () => {
    const view = await finished({
      initialQuery: 'Teach me chess openings.',
      maxTurns: 3,
      goal: 'know three openings [emulate:goal-met-after:1]',
      stop: { goalMet: { every: 2 } },
    });
    // Met from turn 1 on, but first asked after turn 2.
    assert.equal(view.stopReason, 'goal_met');
    assert.equal(view.turns.length, 2);
    assert.equal(view.turns[0].local.goal, undefined);
    assert.equal(view.turns[1].local.goal.met, true);
    const never = await finished({
      initialQuery: 'Teach me chess endgames.',
      maxTurns: 2,
      goal: 'master endgames',
      stop: { goalMet: {} },
    });
    assert.equal(never.stopReason, 'max_turns');
    assert.equal(never.turns[1].local.goal.met, false);
  });

  it('an unparseable verdict is not met (the reason says so), never a guessed "met"', async () => {
    const view = await finished({
      initialQuery: 'Explain monads.',
      maxTurns: 1,
      goal: 'understand monads [emulate:judge-garbage]',
      stop: { goalMet: { every: 1 } },
    });
    assert.equal(view.stopReason, 'max_turns');
    assert.equal(view.turns[0].local.goal.met, false);
    assert.match(view.turns[0].local.goal.reason, /no verdict in the answer/);
  });

  it('stop.goalMet without a goal is a 400 naming the field', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'x', stop: { goalMet: { every: 1 } } });
    assert.equal(res.status, 400);
    assert.match(res.data.error.message, /stop\.goalMet: needs a "goal"/);
  });
});

describe('stop.goalMet: a local step processed twice (at-least-once jobs)', function () {
  this.timeout(30_000);
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({}, { roles: [] });
  });
  after(async () => {
    await stack?.close();
  });

  it('asks the model and the judge once, records the verdict once, and ends goal_met both times', async () => {
    const res = await stack.http.post('/conversation', {
      initialQuery: 'Twice with a goal?',
      maxTurns: 3,
      goal: 'an answer [emulate:goal-met-after:1]',
      stop: { goalMet: { every: 1 } },
    });
    const id = res.data.conversationId;
    const deps = {
      config: stack.config,
      store: stack.store,
      queues: stack.queues,
      cancels: new CancelRegistry(),
      cloud: createGatewayBackend(stack.config),
      local: createOllamaBackend(stack.config),
      logger: stack.logger,
    };
    const cloudJob = await stack.queues.cloud.getJob(jobIds.cloud(id, 1));
    assert.equal(await createCloudProcessor(deps)(cloudJob!), 'ok');
    const localJob = await stack.queues.local.getJob(jobIds.local(id, 1));
    assert.ok(localJob, 'turn 1 local job queued');
    const local = createLocalProcessor(deps);
    const cloudCalls = stack.bedrock!.stats().calls;
    assert.equal(await local(localJob!), 'goal_met');
    assert.equal(await local(localJob!), 'goal_met');
    assert.equal(stack.bedrock!.stats().calls - cloudCalls, 1, 'one verdict call: the re-run read it from the recorded step');
    const { turns } = (await stack.store.getConversation(id))!;
    assert.equal(turns[0]!.local!.goal!.met, true);
    assert.equal(await stack.queues.cloud.getJob(jobIds.cloud(id, 2)), undefined, 'no next turn');
  });
});
