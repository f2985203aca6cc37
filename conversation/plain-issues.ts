/**
 * zod's issues in plain words, naming the field and what it takes: `initialQuery: Invalid input:
 * expected string, received undefined` becomes "initialQuery is required: the opening question, a
 * non-empty string". Used for every request body (POST /conversation, /runs seeds and options,
 * /estimate, /api/v1/generate). A message the schema wrote itself (a refine's) is kept as it is.
 */
import type { z } from 'zod';
import { LIMITS } from '../shared/limits';

/** What each request field is, by its last path segment: said when it is missing or of the wrong type. */
const FIELD_HINTS: Record<string, string> = {
  initialQuery: 'the opening question, a non-empty string',
  inputText: 'the prompt, a non-empty string',
  seeds: 'a list of initial queries (strings or objects with "initialQuery")',
  outputFile: 'a file name, written in OUTPUT_DIR',
  maxTurns: `a whole number of turns from ${LIMITS.maxTurns.min} to ${LIMITS.maxTurns.max}`,
  turns: `a whole number of turns from ${LIMITS.maxTurns.min} to ${LIMITS.maxTurns.max}`,
  maxTokens: `a whole number of output tokens per reply from ${LIMITS.maxTokens.min} to ${LIMITS.maxTokens.max}`,
  timeoutMinutes: `a number of minutes above 0, at most ${LIMITS.timeoutMinutes.max}`,
  cloudModel: 'a model id (e.g. "amazon.nova-micro-v1:0"), or a list of 1 to 5: the first is asked, the others are its fallbacks',
  localModel: 'a model id of the local side (e.g. "llama3.2")',
  temperature: `a number from ${LIMITS.temperature.min} to ${LIMITS.temperature.max}`,
  contextTurns: `a whole number of earlier exchanges from ${LIMITS.contextTurns.min} to ${LIMITS.contextTurns.max}`,
  stopPhrase: 'a non-empty string that ends the conversation when a reply contains it',
  think: 'true or false',
  templates: 'an object with "followUp" and/or "nextQuery"',
  systemPrompts: 'an object with "cloud" and/or "local" strings',
  budget: 'an object with "usd" and/or "tokens"',
  quality: 'an object with "repetition", "degenerate", "maxTokensTotal" and/or "truncated"',
  degenerate: 'true, false, or an object with "refusals" (a list of strings)',
};

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

const UNITS: Record<string, [string, string]> = { string: ['character', 'characters'], array: ['item', 'items'] };

/** zod's own messages (not a schema's): replaced by ours. */
const ZOD_DEFAULT = /^(Invalid input|Too small|Too big|Invalid option|Invalid string|Invalid number|Invalid)/;

/** A problem that reads on from the field's name ("initialQuery must not be empty"). */
const VERB = /^(must|is|has|adds|needs|contains)\b/;

function received(message: string): string | undefined {
  return /received (\w+)/.exec(message)?.[1];
}

function bound(i: { origin?: string; inclusive?: boolean }, n: number | bigint, side: 'min' | 'max'): string {
  const [one, many] = UNITS[i.origin ?? ''] ?? ['', ''];
  const unit = one ? ` ${Number(n) === 1 ? one : many}` : '';
  if (side === 'min') return i.inclusive === false ? `must be more than ${n}${unit}` : `must be at least ${n}${unit}`;
  return i.inclusive === false ? `must be less than ${n}${unit}` : `must be at most ${n}${unit}`;
}

/** One issue as "<what is wrong>", to follow the field's name. */
export function plainProblem(issue: z.core.$ZodIssue): string {
  const last = issue.path.length ? String(issue.path[issue.path.length - 1]) : '';
  const hint = FIELD_HINTS[last];
  if (issue.code === 'unrecognized_keys') return `has unknown field(s): ${issue.keys.join(', ')}`;
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      const got = received(issue.message);
      if (got === 'undefined') return `is required: ${hint ?? TYPE_WORDS[issue.expected] ?? issue.expected}`;
      const gotWords = issue.expected === 'int' && got === 'number' ? 'a fraction' : got && (TYPE_WORDS[got] ?? got);
      return `must be ${hint ?? TYPE_WORDS[issue.expected] ?? issue.expected}${gotWords ? ` (got ${gotWords})` : ''}`;
    }
    case 'too_small':
      return bound(issue, issue.minimum, 'min');
    case 'too_big':
      return bound(issue, issue.maximum, 'max');
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': {
      // The one form whose type the value has, and what is wrong with it (a list of 6 models).
      const typed = issue.errors.filter((branch) => !branch.every((b) => b.code === 'invalid_type' && b.path.length === 0));
      const only = typed.length === 1 ? typed[0]![0] : undefined;
      if (only) return plainProblem({ ...only, path: [...issue.path, ...only.path] } as z.core.$ZodIssue);
      return `must be ${hint ?? 'one of the accepted forms'}`;
    }
    default:
      return hint ? `is not valid: ${hint}` : `is not valid (${issue.message})`;
  }
}

/** Turns zod issues into one message naming each bad field, and the same per field. */
export function describeIssues(error: z.ZodError): { message: string; details: { field: string; problem: string }[] } {
  const details = error.issues.map((i) => {
    const field = i.path.length ? i.path.join('.') : '(body)';
    return { field, problem: plainProblem(i) };
  });
  // "maxTurns must be at least 1", but "cloudModel: at most 5 models" for a schema's own phrase.
  const joined = (d: { field: string; problem: string }) =>
    `${d.field === '(body)' ? 'the body' : d.field}${VERB.test(d.problem) ? ' ' : ': '}${d.problem}`;
  const message = details.map(joined).join('; ');
  return { message, details };
}
