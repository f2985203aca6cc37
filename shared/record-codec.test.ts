import assert from 'node:assert/strict';
import { decodeCloudStep, decodeLocalStep, decodeSettings, encodeCloudStep, encodeLocalStep, encodeSettings } from './record-codec';
import { DEFAULT_TEMPLATES } from './templates';

describe('record codec', () => {
  const base = {
    initialQuery: 'q', outputFile: 'conversation-abc.csv', maxTurns: 5, timeoutMinutes: 30, cloudModel: 'c', localModel: 'l',
    contextTurns: 3, templates: { ...DEFAULT_TEMPLATES }, systemPrompts: {},
  };

  it('settings round-trip, defaults left out of the stored form', () => {
    const stored = encodeSettings(base, 'abc');
    assert.doesNotMatch(stored, /templates|systemPrompts|outputFile/);
    assert.deepEqual(decodeSettings(stored, 'abc'), base);
    const custom = { ...base, outputFile: 'mine.csv', temperature: 0.2, stopPhrase: 'bye', templates: { followUp: 'F {{answer}}', nextQuery: DEFAULT_TEMPLATES.nextQuery }, systemPrompts: { cloud: 'be brief' } };
    assert.deepEqual(decodeSettings(encodeSettings(custom, 'abc'), 'abc'), custom);
  });

  it('steps round-trip as arrays, and the older object form still decodes', () => {
    const cloud = { question: 'Q', answer: 'A', model: 'm', inputTokens: 1, outputTokens: 2, latencyMs: 3, stopReason: 'end_turn', startedAt: 4, at: 5 };
    const local = { prompt: 'P', followUp: 'F', model: 'l', inputTokens: 6, outputTokens: 7, latencyMs: 8, stopReason: 'stop', at: 9 };
    assert.ok(encodeCloudStep(cloud).startsWith('['));
    assert.deepEqual(decodeCloudStep(encodeCloudStep(cloud)), cloud);
    assert.deepEqual(decodeLocalStep(encodeLocalStep(local)), local);
    assert.deepEqual(decodeCloudStep(JSON.stringify(cloud)), cloud);
    assert.deepEqual(decodeLocalStep(JSON.stringify(local)), local);
  });
});
