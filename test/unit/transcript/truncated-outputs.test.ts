/**
 * A truncated reply is never silent (issue 20, part 3): the CSV transcript has a trailing
 * `truncated` column (README, "CSV transcript"), exports carry it in each step's metadata, and
 * `/metrics` counts it per side and model.
 */
import assert from 'node:assert/strict';
import type { ConversationRecord, TurnRecord } from '../../../conversation/model';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';
import { provenanceOf } from '../../../export/conversation-lines';
import { createMetrics } from '../../../shared/metrics';
import { CSV_COLUMNS, transcriptRows } from '../../../transcript/transcript-csv';

const record: ConversationRecord = {
  id: 'c1',
  status: 'completed',
  stopReason: 'max_turns',
  createdAt: 1_000,
  updatedAt: 2_000,
  deadline: 9_000,
  format: 2,
  settings: {
    initialQuery: 'q',
    outputFile: 'x.csv',
    maxTurns: 3,
    timeoutMinutes: 5,
    cloudModel: 'm-cloud',
    localModel: 'm-local',
    contextTurns: 3,
    templates: { ...DEFAULT_TEMPLATES },
    systemPrompts: {},
  },
};
const cloud = (turn: number, truncated?: boolean) => ({
  question: `q${turn}`,
  answer: `a${turn}`,
  model: 'm-cloud',
  inputTokens: 1,
  outputTokens: 2,
  latencyMs: 3,
  stopReason: truncated ? 'max_tokens' : 'end_turn',
  startedAt: 1_100,
  at: 1_200,
  ...(truncated ? { truncated: true, reasoningTokens: 1, omittedParameters: ['temperature'] } : {}),
});
const local = (truncated?: boolean) => ({
  prompt: 'p',
  followUp: 'f',
  model: 'm-local',
  inputTokens: 1,
  outputTokens: 2,
  latencyMs: 3,
  stopReason: truncated ? 'length' : 'stop',
  at: 1_300,
  ...(truncated ? { truncated: true } : {}),
});
const turns: TurnRecord[] = [
  { turn: 1, cloud: cloud(1, true), local: local() },
  { turn: 2, cloud: cloud(2), local: local(true) },
  { turn: 3, cloud: cloud(3, true), local: local(true) },
  { turn: 4, cloud: cloud(4), local: local() },
];

describe('truncated replies in the transcript, exports and metrics', () => {
  it('the CSV has a truncated column (then the cache columns): cloud, local, both or empty', () => {
    assert.deepEqual(CSV_COLUMNS.slice(-3), ['truncated', 'cloud_cache_read_tokens', 'cloud_cache_write_tokens']);
    assert.deepEqual(
      transcriptRows(record, turns).map((r) => r.truncated),
      ['cloud', 'local', 'both', ''],
    );
  });

  it("an export's step metadata says which reply was truncated, the reasoning tokens and the omitted parameters", () => {
    const steps = provenanceOf({ record, turns }).steps;
    assert.equal(steps[0]!.cloud!.truncated, true);
    assert.equal(steps[0]!.cloud!.reasoningTokens, 1);
    assert.deepEqual(steps[0]!.cloud!.omittedParameters, ['temperature']);
    assert.equal(steps[0]!.local!.truncated, undefined);
    assert.equal(steps[1]!.local!.truncated, true);
    assert.equal(steps[3]!.cloud!.truncated, undefined);
  });

  it('/metrics counts truncations per side and model', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.hooks.onTruncated('cloud', 'm-cloud');
    metrics.hooks.onTruncated('cloud', 'm-cloud');
    metrics.observe({}).onTruncated('local', 'm-local');
    const text = await metrics.metrics();
    assert.match(text, /llmconv_llm_truncated_total\{side="cloud",model="m-cloud"\} 2/);
    assert.match(text, /llmconv_llm_truncated_total\{side="local",model="m-local"\} 1/);
  });
});
