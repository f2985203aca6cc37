import assert from 'node:assert/strict';
import {
  decodeCloudStep,
  decodeLegacyCloudStep,
  decodeLegacyLocalStep,
  decodeLegacySettings,
  decodeLocalStep,
  decodeSettingsFields,
  encodeCloudStep,
  encodeLocalStep,
  encodeSettingsFields,
  parseStepField,
  stepField,
} from '../../../store/record-codec';
import type { ConversationSettings } from '../../../conversation/model';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';

describe('record codec', () => {
  const base: ConversationSettings = {
    initialQuery: 'q',
    outputFile: 'conversation-abc.csv',
    maxTurns: 5,
    timeoutMinutes: 30,
    cloudModel: 'c',
    localModel: 'l',
    contextTurns: 3,
    templates: { ...DEFAULT_TEMPLATES },
    systemPrompts: {},
  };
  const roundTrip = (s: ConversationSettings) => {
    const { conv, steps } = encodeSettingsFields(s, 'abc');
    return decodeSettingsFields(conv, steps.q!, steps.x, 'abc');
  };

  it('settings: small fields in the conversation hash, texts apart, defaults left out', () => {
    const { conv, steps } = encodeSettingsFields(base, 'abc');
    assert.deepEqual(Object.keys(conv).sort(), ['cloudModel', 'contextTurns', 'localModel', 'maxTurns', 'timeoutMinutes']);
    assert.deepEqual(steps, { q: 'q' });
    assert.deepEqual(roundTrip(base), base);
    const custom: ConversationSettings = {
      ...base,
      outputFile: 'mine.csv',
      temperature: 0.2,
      maxTokens: 64,
      stopPhrase: 'bye',
      templates: { followUp: 'F {{answer}}', nextQuery: DEFAULT_TEMPLATES.nextQuery },
      systemPrompts: { cloud: 'be brief' },
    };
    assert.deepEqual(roundTrip(custom), custom);
    assert.match(encodeSettingsFields(custom, 'abc').steps.x!, /be brief/);
  });

  it('settings: a run conversation keeps its run id and seed hash as small fields and its meta with the texts; none means no run', () => {
    const withRun: ConversationSettings = {
      ...base,
      run: { id: 'run-1', seedHash: 'ab'.repeat(16), meta: { topic: 'x'.repeat(200), n: 3 } },
    };
    const { conv, steps } = encodeSettingsFields(withRun, 'abc');
    assert.equal(conv.run, 'run-1');
    assert.equal(conv.seed, 'ab'.repeat(16));
    assert.ok(
      Object.values(conv).every((v) => v.length <= 64),
      'the conversation hash stays compact',
    );
    assert.deepEqual(JSON.parse(steps.m!), withRun.run!.meta);
    assert.deepEqual(decodeSettingsFields(conv, steps.q!, steps.x, 'abc', steps.m), withRun);
    const noMeta: ConversationSettings = { ...base, run: { id: 'run-1', seedHash: 'cd'.repeat(16) } };
    assert.deepEqual(roundTrip(noMeta), noMeta);
    assert.equal('m' in encodeSettingsFields(noMeta, 'abc').steps, false);
    assert.equal(roundTrip(base).run, undefined, 'a record without run fields is no run');
  });

  it('settings: budget and quality gates round-trip, and are absent when not given', () => {
    const s = {
      ...base,
      budget: { usd: 0.25, tokens: 9000 },
      quality: { repetition: { threshold: 0.8 }, degenerate: { refusals: ['nope'] }, maxTokensTotal: 500 },
    };
    assert.deepEqual(roundTrip(s), s);
    assert.deepEqual(roundTrip({ ...base, budget: { tokens: 10 } }).budget, { tokens: 10 });
    const plain = roundTrip(base);
    assert.equal('budget' in plain || 'quality' in plain, false);
  });

  it('settings: cloud fallbacks are kept apart from the small fields, and an older record has none', () => {
    const withFallbacks = { ...base, cloudFallbacks: ['f1', 'f2'] };
    const { conv, steps } = encodeSettingsFields(withFallbacks, 'abc');
    assert.equal('cloudFallbacks' in conv, false, 'the conversation hash stays compact');
    assert.match(steps.x!, /"cloudFallbacks":\["f1","f2"\]/);
    assert.deepEqual(roundTrip(withFallbacks), withFallbacks);
    assert.equal(roundTrip(base).cloudFallbacks, undefined);
  });

  it('cloud step: the model asked first is stored only when a fallback answered, readable by old and new readers', () => {
    const ctx = { cloudModel: 'c', localModel: 'l', createdAt: 1000 };
    const step = {
      question: 'q',
      answer: 'a',
      model: 'f1',
      inputTokens: 1,
      outputTokens: 2,
      latencyMs: 3,
      stopReason: 'end_turn',
      startedAt: 1001,
      at: 1002,
    };
    const plain = encodeCloudStep(step, ctx);
    assert.equal(JSON.parse(plain).length, 9);
    assert.equal(decodeCloudStep(plain, ctx).requestedModel, undefined);
    const fell = encodeCloudStep({ ...step, requestedModel: 'c' }, ctx);
    assert.deepEqual(JSON.parse(fell).slice(8), [2, 0], "the conversation's model is stored as 0");
    assert.deepEqual(decodeCloudStep(fell, ctx), { ...step, requestedModel: 'c' });
  });

  it('settings: think is stored only when on, and a record without it reads as off', () => {
    const { conv } = encodeSettingsFields({ ...base, think: true }, 'abc');
    assert.equal(conv.think, '1');
    assert.equal(roundTrip({ ...base, think: true }).think, true);
    assert.equal('think' in encodeSettingsFields({ ...base, think: false }, 'abc').conv, false);
    assert.equal(roundTrip(base).think, undefined, 'an older record (no think field) is off');
    assert.equal(decodeLegacySettings(JSON.stringify({ ...base }), 'abc').think, undefined);
  });

  it('local steps: thinking and the prompt-cut flag ride at the end, only when there', () => {
    const ctx = { cloudModel: 'c', localModel: 'qwen3', createdAt: 1_700_000_000_000 };
    const plain = {
      prompt: 'P',
      followUp: 'F',
      model: 'qwen3',
      inputTokens: 6,
      outputTokens: 7,
      latencyMs: 8,
      stopReason: 'stop',
      at: ctx.createdAt + 60,
    };
    assert.equal(encodeLocalStep(plain, ctx), '["P","F",0,6,7,8,0,60]');
    const thought = { ...plain, thinking: 'Let me think.' };
    assert.equal(encodeLocalStep(thought, ctx), '["P","F",0,6,7,8,0,60,"Let me think."]');
    assert.deepEqual(decodeLocalStep(encodeLocalStep(thought, ctx), ctx), thought);
    const cut = { ...plain, promptTruncated: true };
    assert.equal(encodeLocalStep(cut, ctx), '["P","F",0,6,7,8,0,60,0,1]');
    assert.deepEqual(decodeLocalStep(encodeLocalStep(cut, ctx), ctx), cut);
    assert.deepEqual(decodeLocalStep(encodeLocalStep({ ...thought, promptTruncated: true }, ctx), ctx), {
      ...thought,
      promptTruncated: true,
    });
  });

  it("steps: the conversation's model, the usual stop reason and absolute times are not stored", () => {
    const ctx = { cloudModel: 'anthropic.claude-3-haiku', localModel: 'llama3.2', createdAt: 1_700_000_000_000 };
    const cloud = {
      question: 'Q',
      answer: 'A',
      model: ctx.cloudModel,
      inputTokens: 1,
      outputTokens: 2,
      latencyMs: 3,
      stopReason: 'end_turn',
      startedAt: ctx.createdAt + 40,
      at: ctx.createdAt + 43,
    };
    const local = {
      prompt: 'P',
      followUp: 'F',
      model: ctx.localModel,
      inputTokens: 6,
      outputTokens: 7,
      latencyMs: 8,
      stopReason: 'stop',
      at: ctx.createdAt + 60,
    };
    assert.equal(encodeCloudStep(cloud, ctx), '["Q","A",0,1,2,3,0,40,43]');
    assert.equal(encodeLocalStep(local, ctx), '["P","F",0,6,7,8,0,60]');
    assert.deepEqual(decodeCloudStep(encodeCloudStep(cloud, ctx), ctx), cloud);
    assert.deepEqual(decodeLocalStep(encodeLocalStep(local, ctx), ctx), local);
    // Another model or stop reason than the usual is kept as given.
    const other = { ...cloud, model: 'us.anthropic.claude-3-5-sonnet', stopReason: 'max_tokens' };
    assert.deepEqual(decodeCloudStep(encodeCloudStep(other, ctx), ctx), other);
    const otherLocal = { ...local, model: 'llama3.2:latest', stopReason: 'length' };
    assert.deepEqual(decodeLocalStep(encodeLocalStep(otherLocal, ctx), ctx), otherLocal);
  });

  it('step field names of both formats parse; other fields do not', () => {
    assert.deepEqual(parseStepField(stepField('cloud', 12)), { side: 'cloud', turn: 12 });
    assert.deepEqual(parseStepField(stepField('local', 3)), { side: 'local', turn: 3 });
    assert.deepEqual(parseStepField('cloud:7'), { side: 'cloud', turn: 7 });
    assert.deepEqual(parseStepField('local:1'), { side: 'local', turn: 1 });
    for (const f of ['q', 'x', 'c', 'cloud:', 'z1']) assert.equal(parseStepField(f), null, f);
  });

  it('format 1 (settings JSON, arrays with absolute times, and the older objects) still decodes', () => {
    const cloud = {
      question: 'Q',
      answer: 'A',
      model: 'm',
      inputTokens: 1,
      outputTokens: 2,
      latencyMs: 3,
      stopReason: 'end_turn',
      startedAt: 4,
      at: 5,
    };
    const local = { prompt: 'P', followUp: 'F', model: 'l', inputTokens: 6, outputTokens: 7, latencyMs: 8, stopReason: 'stop', at: 9 };
    assert.deepEqual(decodeLegacyCloudStep('["Q","A","m",1,2,3,"end_turn",4,5]'), cloud);
    assert.deepEqual(decodeLegacyLocalStep('["P","F","l",6,7,8,"stop",9]'), local);
    assert.deepEqual(decodeLegacyCloudStep(JSON.stringify(cloud)), cloud);
    assert.deepEqual(decodeLegacyLocalStep(JSON.stringify(local)), local);
    const { templates: _t, systemPrompts: _s, outputFile: _o, ...compact } = base;
    assert.deepEqual(decodeLegacySettings(JSON.stringify(compact), 'abc'), base);
  });
});

describe('record codec: personas, goals and goal verdicts', () => {
  const ctx = { cloudModel: 'c', localModel: 'l', createdAt: 1000 };
  const step = { prompt: 'p', followUp: 'f', model: 'l', inputTokens: 1, outputTokens: 2, latencyMs: 3, stopReason: 'stop', at: 1500 };

  it('persona, goal and stop.goalMet round-trip in the settings', () => {
    const s: ConversationSettings = {
      initialQuery: 'q',
      outputFile: 'conversation-abc.csv',
      maxTurns: 5,
      timeoutMinutes: 30,
      cloudModel: 'c',
      localModel: 'l',
      contextTurns: 3,
      templates: { ...DEFAULT_TEMPLATES },
      systemPrompts: {},
      persona: { role: 'r', language: 'fr' },
      goal: 'g',
      stop: { goalMet: { every: 2, side: 'local', model: 'm' } },
    };
    const { conv, steps } = encodeSettingsFields(s, 'abc');
    assert.deepEqual(decodeSettingsFields(conv, steps.q!, steps.x, 'abc'), s);
  });

  it('a local step keeps its goal verdict (with and without the other trailing fields); one without has none', () => {
    for (const l of [
      { ...step, goal: { met: true, reason: 'ok', model: 'c' } },
      { ...step, truncated: true, thinking: 't', goal: { met: false, model: 'c' } },
      step,
    ]) {
      assert.deepEqual(decodeLocalStep(encodeLocalStep(l, ctx), ctx), l);
    }
  });
});
