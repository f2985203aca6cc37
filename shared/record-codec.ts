/**
 * How conversation records are laid out in Redis: settings without their defaults, and each step
 * as a positional JSON array instead of an object with named fields. Text is stored as given;
 * this trims the per-conversation metadata (see BENCHMARKS.md, redis_bytes_per_conversation).
 * Decoders also read the older object form, so records written before the change stay readable.
 */
import type { CloudStep, ConversationSettings, LocalStep } from './conversation-store';
import { DEFAULT_TEMPLATES } from './templates';

type StoredSettings = Partial<ConversationSettings>;

export function encodeSettings(s: ConversationSettings, id: string): string {
  const out: StoredSettings = { ...s };
  if (s.outputFile === `conversation-${id}.csv`) delete out.outputFile;
  const templates: Partial<ConversationSettings['templates']> = {};
  if (s.templates.followUp !== DEFAULT_TEMPLATES.followUp) templates.followUp = s.templates.followUp;
  if (s.templates.nextQuery !== DEFAULT_TEMPLATES.nextQuery) templates.nextQuery = s.templates.nextQuery;
  if (Object.keys(templates).length) out.templates = templates as ConversationSettings['templates'];
  else delete out.templates;
  if (!s.systemPrompts.cloud && !s.systemPrompts.local) delete out.systemPrompts;
  return JSON.stringify(out);
}

export function decodeSettings(json: string, id: string): ConversationSettings {
  const s = JSON.parse(json) as StoredSettings;
  return {
    ...(s as ConversationSettings),
    outputFile: s.outputFile ?? `conversation-${id}.csv`,
    templates: { followUp: s.templates?.followUp ?? DEFAULT_TEMPLATES.followUp, nextQuery: s.templates?.nextQuery ?? DEFAULT_TEMPLATES.nextQuery },
    systemPrompts: s.systemPrompts ?? {},
  };
}

export function encodeCloudStep(c: CloudStep): string {
  return JSON.stringify([c.question, c.answer, c.model, c.inputTokens, c.outputTokens, c.latencyMs, c.stopReason, c.startedAt, c.at]);
}

export function encodeLocalStep(l: LocalStep): string {
  return JSON.stringify([l.prompt, l.followUp, l.model, l.inputTokens, l.outputTokens, l.latencyMs, l.stopReason, l.at]);
}

export function decodeCloudStep(json: string): CloudStep {
  const v = JSON.parse(json) as unknown;
  if (!Array.isArray(v)) return v as CloudStep;
  const [question, answer, model, inputTokens, outputTokens, latencyMs, stopReason, startedAt, at] = v as [string, string, string, number, number, number, string, number, number];
  return { question, answer, model, inputTokens, outputTokens, latencyMs, stopReason, startedAt, at };
}

export function decodeLocalStep(json: string): LocalStep {
  const v = JSON.parse(json) as unknown;
  if (!Array.isArray(v)) return v as LocalStep;
  const [prompt, followUp, model, inputTokens, outputTokens, latencyMs, stopReason, at] = v as [string, string, string, number, number, number, string, number];
  return { prompt, followUp, model, inputTokens, outputTokens, latencyMs, stopReason, at };
}
