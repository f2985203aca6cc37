import assert from 'node:assert/strict';
import { assertOpenaiChatLine } from '../../helpers/openai-chat-format';
import { parseWeights } from '../../../export/export-options';
import { parse } from 'csv-parse/sync';
import type { ConversationWithTurns, TurnRecord } from '../../../conversation/model';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';
import {
  dialogueOf,
  EXPORT_CSV_COLUMNS,
  exportCsvHeader,
  exportCsvRows,
  openaiLine,
  provenanceOf,
  sharegptLine,
} from '../../../export/conversation-lines';
import { CSV_COLUMNS } from '../../../transcript/transcript-csv';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

function turn(
  k: number,
  opts: { answer?: string; cloudStop?: string; followUp?: string; thinking?: string; noLocal?: boolean } = {},
): TurnRecord {
  const t: TurnRecord = {
    turn: k,
    cloud: {
      question: `Q${k}`,
      answer: opts.answer ?? `A${k}`,
      model: 'cloud-m',
      inputTokens: k,
      outputTokens: 10 * k,
      latencyMs: 100 * k,
      stopReason: opts.cloudStop ?? 'end_turn',
      startedAt: T0 + k,
      at: T0 + k + 1,
    },
  };
  if (!opts.noLocal) {
    t.local = {
      prompt: `P${k}`,
      followUp: opts.followUp ?? `F${k}`,
      model: 'local-m',
      inputTokens: 2 * k,
      outputTokens: 3 * k,
      latencyMs: 7 * k,
      stopReason: 'stop',
      at: T0 + k + 2,
      ...(opts.thinking ? { thinking: opts.thinking } : {}),
    };
  }
  return t;
}

function conv(
  turns: TurnRecord[],
  extra: {
    system?: { cloud?: string; local?: string };
    meta?: Record<string, unknown>;
    noRun?: boolean;
    status?: 'completed' | 'failed';
    stopReason?: 'max_turns' | 'content_filtered';
  } = {},
): ConversationWithTurns {
  return {
    record: {
      id: 'c-1',
      status: extra.status ?? 'completed',
      stopReason: extra.stopReason ?? 'max_turns',
      createdAt: T0,
      updatedAt: T0 + 10,
      deadline: T0 + 60_000,
      finishedAt: T0 + 10,
      format: 2,
      settings: {
        initialQuery: 'Q1',
        outputFile: 'conversation-c-1.csv',
        maxTurns: 3,
        timeoutMinutes: 1,
        cloudModel: 'cloud-m',
        localModel: 'local-m',
        contextTurns: 1,
        templates: { ...DEFAULT_TEMPLATES },
        systemPrompts: extra.system ?? {},
        ...(extra.noRun ? {} : { run: { id: 'run-9', seedHash: 'h-9', ...(extra.meta ? { meta: extra.meta } : {}) } }),
      },
    },
    turns,
  };
}

const roles = (line: string) => (JSON.parse(line).messages as { role: string }[]).map((m) => m.role);

describe('export lines (pure)', () => {
  it('openai with the cloud model as assistant: the questions are the user turns, its system prompt first', () => {
    const line = openaiLine(conv([turn(1), turn(2), turn(3)], { system: { cloud: 'Be brief.', local: 'Be curious.' } }), 'cloud', {
      metadata: true,
    })!;
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line');
    const o = JSON.parse(line);
    assert.deepEqual(o.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1' },
      { role: 'user', content: 'Q2' },
      { role: 'assistant', content: 'A2' },
      { role: 'user', content: 'Q3' },
      { role: 'assistant', content: 'A3' },
    ]);
    assert.equal(o.metadata.assistant, 'cloud');
    assert.equal(o.metadata.exchanges, 3);
  });

  it('openai with the local model as assistant: the follow-up prompts are the user turns', () => {
    const o = JSON.parse(openaiLine(conv([turn(1), turn(2)], { system: { local: 'Be curious.' } }), 'local')!);
    assert.deepEqual(
      o.messages.map((m: { content: string }) => m.content),
      ['Be curious.', 'P1', 'F1', 'P2', 'F2'],
    );
    assert.deepEqual(roles(openaiLine(conv([turn(1)]), 'local')!), ['user', 'assistant'], 'no system message when the side has none');
  });

  it('provenance: ids, seed hash, run, models, templates, token and latency sums, per-step figures, meta', () => {
    const meta = { source: 'camel', tags: ['a', 'b'], n: 3 };
    const p = JSON.parse(openaiLine(conv([turn(1), turn(2)], { meta }), 'cloud', { metadata: true })!).metadata;
    assert.equal(p.conversationId, 'c-1');
    assert.equal(p.runId, 'run-9');
    assert.equal(p.seedHash, 'h-9');
    assert.equal(p.status, 'completed');
    assert.equal(p.stopReason, 'max_turns');
    assert.equal(p.cloudModel, 'cloud-m');
    assert.equal(p.localModel, 'local-m');
    assert.deepEqual(p.templates, DEFAULT_TEMPLATES);
    assert.equal(p.contextTurns, 1);
    assert.deepEqual(p.tokens, { cloudInput: 3, cloudOutput: 30, localInput: 6, localOutput: 9 });
    assert.deepEqual(p.latencyMs, { cloud: 300, local: 21 });
    assert.equal(p.steps.length, 2);
    assert.deepEqual(p.steps[1].cloud, { model: 'cloud-m', inputTokens: 2, outputTokens: 20, latencyMs: 200, stopReason: 'end_turn' });
    assert.deepEqual(p.meta, meta);
    assert.equal(p.createdAt, new Date(T0).toISOString());
  });

  it('a conversation outside a run has null run, seed hash and meta', () => {
    const p = provenanceOf(conv([turn(1)], { noRun: true }));
    assert.equal(p.runId, null);
    assert.equal(p.seedHash, null);
    assert.equal(p.meta, null);
  });

  it('a filtered cloud answer ends the dialogue before it: no empty assistant message, no dangling user turn', () => {
    const c = conv([turn(1), turn(2, { answer: 'partial text', cloudStop: 'content_filtered', noLocal: true })], {
      stopReason: 'content_filtered',
    });
    assert.deepEqual(roles(openaiLine(c, 'cloud')!), ['user', 'assistant']);
    const blank = conv([turn(1), turn(2, { answer: '   ', noLocal: true })]);
    assert.deepEqual(
      dialogueOf(blank, 'cloud').pairs.map((p) => p.turn),
      [1],
    );
    // The metadata still counts both cloud steps and names the filter.
    assert.equal(JSON.parse(openaiLine(c, 'cloud', { metadata: true })!).metadata.steps[1].cloud.stopReason, 'content_filtered');
  });

  it('a conversation whose first answer is unusable has no line at all', () => {
    const c = conv([turn(1, { answer: '', cloudStop: 'guardrail_intervened', noLocal: true })]);
    assert.equal(openaiLine(c, 'cloud'), undefined);
    assert.equal(sharegptLine(c, 'cloud'), undefined);
    assert.equal(openaiLine(c, 'local'), undefined, 'no local step either');
  });

  it('an empty follow-up or a missing local step ends the local dialogue there', () => {
    const c = conv([turn(1), turn(2, { followUp: '' }), turn(3)]);
    assert.deepEqual(
      dialogueOf(c, 'local').pairs.map((p) => p.turn),
      [1],
    );
    const cut = conv([turn(1), turn(2, { noLocal: true })]);
    assert.deepEqual(
      dialogueOf(cut, 'local').pairs.map((p) => p.turn),
      [1],
    );
    assert.deepEqual(
      dialogueOf(cut, 'cloud').pairs.map((p) => p.turn),
      [1, 2],
      'the cloud side keeps its answered turn',
    );
  });

  it('thinking stays out of the messages and is kept in the step metadata', () => {
    const o = JSON.parse(openaiLine(conv([turn(1, { thinking: 'Let me think about rainbows.' })]), 'local', { metadata: true })!);
    assert.ok(!JSON.stringify(o.messages).includes('rainbows'));
    assert.equal(o.metadata.steps[0].local.thinking, 'Let me think about rainbows.');
  });

  it('sharegpt: human/gpt alternating, the system prompt as a first {from: "system"} turn (axolotl), metadata', () => {
    const c = conv([turn(1), turn(2)], { system: { cloud: 'Be brief.' }, meta: { k: 1 } });
    const o = JSON.parse(sharegptLine(c, 'cloud')!);
    assert.deepEqual(o.conversations, [
      { from: 'system', value: 'Be brief.' },
      { from: 'human', value: 'Q1' },
      { from: 'gpt', value: 'A1' },
      { from: 'human', value: 'Q2' },
      { from: 'gpt', value: 'A2' },
    ]);
    assert.equal('system' in o, false, 'no top-level system unless asked');
    assert.deepEqual(o.metadata.meta, { k: 1 });
    assert.equal(JSON.parse(sharegptLine(conv([turn(1)]), 'cloud')!).conversations[0].from, 'human', 'no system turn without a prompt');
    // Asked for the other convention: a top-level system field, the turns human/gpt only.
    const field = JSON.parse(sharegptLine(c, 'cloud', { system: 'field', metadata: false })!);
    assert.equal(field.system, 'Be brief.');
    assert.equal(field.conversations[0].from, 'human');
    assert.deepEqual(Object.keys(field), ['conversations', 'system']);
  });

  it('openai: only the format keys unless metadata is asked for; weight on the marked assistant turns', () => {
    const c = conv([turn(1), turn(2), turn(3)], { system: { cloud: 'Be brief.' } });
    const plain = JSON.parse(openaiLine(c, 'cloud')!);
    assert.deepEqual(Object.keys(plain), ['messages']);
    assertOpenaiChatLine(plain);
    assert.throws(() => assertOpenaiChatLine(JSON.parse(openaiLine(c, 'cloud', { metadata: true })!)), /unknown key "metadata"/);
    const weights = (w: Parameters<typeof parseWeights>[0]) =>
      (JSON.parse(openaiLine(c, 'cloud', { weights: parseWeights(w) })!).messages as { role: string; weight?: number }[])
        .filter((m) => m.role === 'assistant')
        .map((m) => m.weight);
    assert.deepEqual(weights('last'), [0, 0, 1]);
    assert.deepEqual(weights('all'), [1, 1, 1]);
    assert.deepEqual(weights('1,3'), [1, 0, 1]);
    assert.deepEqual(weights('none'), [undefined, undefined, undefined]);
    assertOpenaiChatLine(JSON.parse(openaiLine(c, 'cloud', { weights: parseWeights('last') })!));
    // The validator is strict: it can fail.
    assert.throws(
      () =>
        assertOpenaiChatLine({
          messages: [
            { role: 'user', content: 'q', weight: 1 },
            { role: 'assistant', content: 'a' },
          ],
        }),
      /weight/,
    );
    assert.throws(
      () =>
        assertOpenaiChatLine({
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: 'a', extra: 1 },
          ],
        }),
      /unknown key "extra"/,
    );
  });

  it('csv: the transcript columns first, then provenance; one row per turn with a cloud answer', () => {
    assert.deepEqual(EXPORT_CSV_COLUMNS.slice(0, CSV_COLUMNS.length), [...CSV_COLUMNS]);
    const text =
      exportCsvHeader() + exportCsvRows(conv([turn(1), turn(2, { answer: '=SUM(A1)', noLocal: true })], { meta: { k: 'v,w' } }), true);
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.conversation_id, 'c-1');
    assert.equal(rows[0]!.run_id, 'run-9');
    assert.equal(rows[0]!.seed_hash, 'h-9');
    assert.equal(rows[0]!.status, 'completed');
    assert.deepEqual(JSON.parse(rows[0]!.meta!), { k: 'v,w' });
    assert.equal(rows[1]!.cloud_response, "'=SUM(A1)", 'formulas are neutralised like the transcript');
    assert.equal(rows[1]!.ollama_response, '');
    assert.equal(exportCsvRows(conv([]), true), '');
  });
});
