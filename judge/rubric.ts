/**
 * The judge's rubric (JUDGE_RUBRIC_FILE, JSON): the criteria, the score scale, the judging prompt,
 * and the model that judges. Pure apart from reading the file: the prompt a finished conversation
 * is judged with, and the parsing of the judge's answer, which either yields a score for every
 * criterion within the scale or nothing (never a guessed or partial score).
 *
 * {
 *   "criteria": [{ "name": "helpfulness", "description": "Does the answer help?" }, ...],
 *   "scale": { "min": 1, "max": 5 },
 *   "prompt": "Judge this conversation.\n{{criteria}}\n\n{{transcript}}",
 *   "model": "amazon.nova-micro-v1:0",   // optional: the side's default model
 *   "side": "cloud"                                         // optional: cloud (default) or local
 * }
 * The answer format is appended to the prompt by {@link judgePrompt}, so a rubric cannot forget it.
 */
import { readFileSync } from 'node:fs';
import type { TurnRecord } from '../conversation/model';
import { ConfigError } from '../shared/errors';

export interface Rubric {
  criteria: { name: string; description: string }[];
  scale: { min: number; max: number };
  prompt: string;
  model?: string;
  side: 'cloud' | 'local';
}

export type Scores = Record<string, number>;

const fail = (msg: string): never => {
  throw new ConfigError(`JUDGE_RUBRIC_FILE: ${msg}`, 'JUDGE_RUBRIC_FILE');
};

/** Validates a rubric's JSON text; a ConfigError names JUDGE_RUBRIC_FILE and the bad field. */
export function parseRubric(text: string): Rubric {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    return fail(`not valid JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return fail('must hold a JSON object');
  const criteria = raw.criteria as { name?: unknown; description?: unknown }[] | undefined;
  if (!Array.isArray(criteria) || criteria.length === 0) fail('"criteria" must be a non-empty list of {name, description}');
  const names = new Set<string>();
  for (const [i, c] of criteria!.entries()) {
    if (!c || typeof c.name !== 'string' || !/^[A-Za-z][\w-]{0,63}$/.test(c.name))
      fail(`criteria[${i}].name must be a word of letters, digits, _ or - (starting with a letter)`);
    if (names.has(c.name as string)) fail(`criteria[${i}].name "${String(c.name)}" is given twice`);
    names.add(c.name as string);
  }
  const scale = raw.scale as { min?: unknown; max?: unknown } | undefined;
  if (!scale || !Number.isInteger(scale.min) || !Number.isInteger(scale.max) || (scale.min as number) >= (scale.max as number)) {
    fail('"scale" must be {"min": <integer>, "max": <larger integer>}');
  }
  if (typeof raw.prompt !== 'string' || !raw.prompt.includes('{{transcript}}')) fail('"prompt" must be a string containing {{transcript}}');
  if (raw.model !== undefined && (typeof raw.model !== 'string' || raw.model.trim() === '')) fail('"model" must be a model id');
  if (raw.side !== undefined && raw.side !== 'cloud' && raw.side !== 'local') fail('"side" must be "cloud" or "local"');
  const unknown = Object.keys(raw).filter((k) => !['criteria', 'scale', 'prompt', 'model', 'side'].includes(k));
  if (unknown.length) fail(`unknown key(s) ${unknown.join(', ')}`);
  return {
    criteria: criteria!.map((c) => ({ name: c.name as string, description: typeof c.description === 'string' ? c.description : '' })),
    scale: { min: scale!.min as number, max: scale!.max as number },
    prompt: raw.prompt as string,
    ...(raw.model ? { model: (raw.model as string).trim() } : {}),
    side: (raw.side as 'cloud' | 'local' | undefined) ?? 'cloud',
  };
}

/** Reads and validates the rubric file. */
export function loadRubric(file: string): Rubric {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`${file} cannot be read: ${(err as Error).message}`);
  }
  return parseRubric(text);
}

/** The answer format appended to every judging prompt (the emulators recognise it). */
export function answerFormat(rubric: Rubric): string {
  const fields = rubric.criteria.map((c) => `"${c.name}": <integer ${rubric.scale.min}-${rubric.scale.max}>`).join(', ');
  return `Answer with only this JSON: {"scores": {${fields}}}`;
}

/** The judging prompt for a conversation's turns. */
export function judgePrompt(rubric: Rubric, initialQuery: string, turns: TurnRecord[]): string {
  const criteria = rubric.criteria.map((c) => `- ${c.name}: ${c.description}`).join('\n');
  const body = rubric.prompt.replaceAll('{{criteria}}', criteria).replaceAll('{{transcript}}', transcriptOf(initialQuery, turns));
  return `${body}\n\n${answerFormat(rubric)}`;
}

/**
 * The judging call split for the prompt cache (issue 24): the rubric's text before the paragraph
 * holding `{{transcript}}` (criteria filled in) is the same for every conversation, so it goes in the
 * system prompt, where the cloud client places a cache checkpoint when it is long enough for the
 * model (bedrock/cache-points.ts); the transcript, the rest and the answer format are the prompt.
 * A rubric whose text starts with `{{transcript}}` has no stable prefix: no system prompt.
 */
export function judgeCall(rubric: Rubric, initialQuery: string, turns: TurnRecord[]): { system?: string; prompt: string } {
  const placeholder = rubric.prompt.indexOf('{{transcript}}');
  // Split at the start of the transcript's paragraph (its label stays with it), else at the placeholder.
  const paragraph = rubric.prompt.lastIndexOf('\n\n', placeholder);
  const at = paragraph > 0 ? paragraph : placeholder;
  if (at <= 0) return { prompt: judgePrompt(rubric, initialQuery, turns) };
  const criteria = rubric.criteria.map((c) => `- ${c.name}: ${c.description}`).join('\n');
  const system = rubric.prompt.slice(0, at).replaceAll('{{criteria}}', criteria).trimEnd();
  if (system === '') return { prompt: judgePrompt(rubric, initialQuery, turns) };
  const rest = rubric.prompt.slice(at).trimStart().replaceAll('{{criteria}}', criteria);
  const body = rest.replaceAll('{{transcript}}', transcriptOf(initialQuery, turns));
  return { system, prompt: `${body}\n\n${answerFormat(rubric)}` };
}

function transcriptOf(initialQuery: string, turns: TurnRecord[]): string {
  const transcript = [`Opening question: ${initialQuery}`];
  for (const t of [...turns].sort((a, b) => a.turn - b.turn)) {
    if (t.cloud) transcript.push(`Turn ${t.turn} question: ${t.cloud.question}`, `Turn ${t.turn} answer: ${t.cloud.answer}`);
    if (t.local) transcript.push(`Turn ${t.turn} follow-up: ${t.local.followUp}`);
  }
  return transcript.join('\n');
}

/**
 * The scores in a judge's answer: the first JSON object holding `scores` with an integer within
 * the scale for every criterion (extra keys ignored); undefined when there is no such object.
 */
export function parseScores(answer: string, rubric: Rubric): Scores | undefined {
  for (let start = answer.indexOf('{'); start >= 0; start = answer.indexOf('{', start + 1)) {
    for (let end = answer.lastIndexOf('}'); end > start; end = answer.lastIndexOf('}', end - 1)) {
      let v: unknown;
      try {
        v = JSON.parse(answer.slice(start, end + 1));
      } catch {
        continue;
      }
      const scores = (v as { scores?: Record<string, unknown> } | null)?.scores;
      if (!scores || typeof scores !== 'object') continue;
      const out: Scores = {};
      for (const c of rubric.criteria) {
        const n = scores[c.name];
        if (!Number.isInteger(n) || (n as number) < rubric.scale.min || (n as number) > rubric.scale.max) return undefined;
        out[c.name] = n as number;
      }
      return out;
    }
  }
  return undefined;
}
