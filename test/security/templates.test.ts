/**
 * Issue 21, part 5: templates render own properties only, name only the placeholders their side
 * fills, use each at most MAX_PLACEHOLDER_USES times, and a turn's prompt is capped
 * (PROMPT_MAX_CHARS): 400 at submission where it can be known, `prompt_too_long` at run time.
 */
import assert from 'node:assert/strict';
import { parseConversationRequest } from '../../conversation/conversation-request';
import { MAX_PLACEHOLDER_USES, renderTemplate } from '../../conversation/templates';
import { questionFor } from '../../conversation/turn-rules';
import { loadConfig } from '../../shared/config';
import { ValidationError } from '../../shared/errors';
import { startTestStack, waitForConversation, type TestStack } from '../helpers/test-stack';

const config = loadConfig({});
const parse = (body: unknown, c = config) => parseConversationRequest(body, c, '00000000-0000-4000-8000-000000000000');
/** The ValidationError a body is refused with. */
function refusal(body: unknown, c = config): ValidationError {
  try {
    parse(body, c);
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.status, 400);
    return err;
  }
  assert.fail(`accepted: ${JSON.stringify(body).slice(0, 200)}`);
}

describe('security: prompt templates', function () {
  this.timeout(60_000);

  it('renders own properties only: {{constructor}}, {{__proto__}}, {{toString}} never become function Object()', () => {
    const out = renderTemplate('{{constructor}}|{{__proto__}}|{{toString}}|{{hasOwnProperty}}|{{answer}}', { answer: 'A' });
    assert.doesNotMatch(out, /function|\[object/);
    assert.equal(out, '{{constructor}}|{{__proto__}}|{{toString}}|{{hasOwnProperty}}|A');
    // Through the turn rules as a worker builds turn 2's question from a stored template.
    const settings = parse({ initialQuery: 'q' });
    const q = questionFor(
      { ...settings, templates: { ...settings.templates, nextQuery: '{{followUp}} {{constructor}}' } },
      [{ turn: 1, cloud: { question: 'q', answer: 'a' }, local: { followUp: 'f' } } as never],
      2,
    );
    assert.equal(q, 'f {{constructor}}');
  });

  it('rejects unknown placeholders at submission with 400 naming them', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'followUp']) {
      const err = refusal({ initialQuery: 'q', templates: { followUp: `{{answer}} and {{${name}}}` } });
      assert.match(err.message, /templates\.followUp/);
      assert.match(err.message, new RegExp(`unknown placeholder\\(s\\) \\{\\{${name}\\}\\}`));
    }
    const spaced = refusal({ initialQuery: 'q', templates: { nextQuery: '{{followUp}} {{ secret }}' } });
    assert.match(spaced.message, /templates\.nextQuery: unknown placeholder\(s\) \{\{secret\}\}/);
    // What each side fills is accepted.
    assert.doesNotThrow(() =>
      parse({
        initialQuery: 'q',
        templates: { followUp: 'Q: {{question}} A: {{answer}}', nextQuery: '{{followUp}} (after {{answer}} to {{question}})' },
      }),
    );
  });

  it(`allows each placeholder at most ${MAX_PLACEHOLDER_USES} times (a 4,000-character template once held {{answer}} 400 times)`, () => {
    assert.equal(MAX_PLACEHOLDER_USES, 3);
    assert.doesNotThrow(() => parse({ initialQuery: 'q', templates: { followUp: '{{answer}} '.repeat(MAX_PLACEHOLDER_USES) } }));
    const err = refusal({ initialQuery: 'q', templates: { followUp: '{{answer}}'.repeat(400) } });
    assert.match(err.message, /templates\.followUp: \{\{answer\}\} appears 400 times: each placeholder at most 3 times/);
  });

  it('caps the prompt: an initialQuery or a template longer than PROMPT_MAX_CHARS is a 400 naming it', () => {
    const small = loadConfig({ PROMPT_MAX_CHARS: '1000' });
    const long = refusal({ initialQuery: 'x'.repeat(1001) }, small);
    assert.match(long.message, /initialQuery: is 1001 characters, over the prompt limit of 1000 \(PROMPT_MAX_CHARS\)/);
    const tpl = refusal({ initialQuery: 'q', templates: { nextQuery: `${'y'.repeat(1200)}{{followUp}}` } }, small);
    assert.match(tpl.message, /templates\.nextQuery: adds 1200 characters to every prompt/);
    assert.doesNotThrow(() => parse({ initialQuery: 'x'.repeat(1000) }, small));
    assert.throws(() => loadConfig({ PROMPT_MAX_CHARS: '10' }), /PROMPT_MAX_CHARS/);
  });

  describe('over HTTP and at run time', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ PROMPT_MAX_CHARS: '1000' });
    });
    after(async () => stack?.close());

    it('POST /conversation answers 400 naming the placeholder', async () => {
      const res = await stack.http.post('/conversation', { initialQuery: 'q', templates: { followUp: '{{answer}} {{constructor}}' } });
      assert.equal(res.status, 400);
      assert.match(res.data.error.message, /\{\{constructor\}\}/);
    });

    it('a prompt that outgrows PROMPT_MAX_CHARS at run time fails the conversation with prompt_too_long, its error naming the setting', async () => {
      // 900 characters pass at submission; the follow-up template repeats the question twice (1,800+).
      const res = await stack.http.post('/conversation', {
        initialQuery: `${'Why is the sky blue? '.repeat(43)}`.slice(0, 900),
        maxTurns: 2,
        templates: { followUp: '{{question}} {{question}} {{answer}}' },
      });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      const view = await waitForConversation(stack, res.data.conversationId);
      assert.equal(view.status, 'failed');
      assert.equal(view.stopReason, 'prompt_too_long');
      assert.match(view.error, /local prompt of turn 1 is \d+ characters, over the limit of 1000 \(PROMPT_MAX_CHARS\)/);
      // The cloud answer of turn 1 was kept; no local call was made.
      assert.equal(view.turns[0].ollamaResponse ?? null, null);
      console.log(`      [figures] prompt-cap ${JSON.stringify({ status: view.status, stopReason: view.stopReason })}`);
    });
  });
});
