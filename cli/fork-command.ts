/**
 * `llmconv fork <id> --at-turn k [--model M] [--local-model M] [--temperature T] [--persona P]
 * [--system S] [--turns N] [--options '<json>']`: a new conversation that shares the parent's turns
 * 1..k-1 (not asked again, not billed) and asks turn k on with these settings
 * (`POST /conversation/:id/fork`, docs/branches.md). Flags are turned into the request body here;
 * the producer checks it and answers a 400 naming the fault.
 */
import type { ConversationSubmitResult } from '../api/http-contract';

/** The fork flags as parsed by `cli/main.ts` (strings, unchecked). */
export interface ForkFlags {
  atTurn?: string;
  model?: string;
  localModel?: string;
  temperature?: string;
  persona?: string;
  system?: string;
  turns?: string;
  options?: string;
}

/** A flag the user got wrong: the message names it (exit code 2 with the help). */
export class ForkUsageError extends Error {}

/** The body of `POST /conversation/:id/fork` from the flags; `--options` is merged first, the flags win. */
export function forkBody(f: ForkFlags): Record<string, unknown> {
  if (f.atTurn === undefined) throw new ForkUsageError('fork needs --at-turn k (the turn to ask again; turns before it are shared)');
  if (!/^[1-9]\d{0,4}$/.test(f.atTurn)) throw new ForkUsageError(`--at-turn must be a turn number (1, 2, …), got "${f.atTurn}"`);
  let base: Record<string, unknown> = {};
  if (f.options !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(f.options);
    } catch {
      parsed = undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new ForkUsageError(`--options must be a JSON object of fork settings, got "${f.options.slice(0, 80)}"`);
    base = parsed as Record<string, unknown>;
  }
  const body: Record<string, unknown> = { ...base, atTurn: Number(f.atTurn) };
  if (f.model !== undefined) body.cloudModel = f.model;
  if (f.localModel !== undefined) body.localModel = f.localModel;
  if (f.temperature !== undefined) {
    if (!/^\d+(?:\.\d+)?$/.test(f.temperature))
      throw new ForkUsageError(`--temperature must be a number such as 0.7, got "${f.temperature}"`);
    body.temperature = Number(f.temperature);
  }
  if (f.persona !== undefined) body.persona = f.persona;
  if (f.system !== undefined) body.systemPrompts = { ...(base.systemPrompts as object | undefined), cloud: f.system };
  if (f.turns !== undefined) {
    if (!/^[1-9]\d{0,4}$/.test(f.turns)) throw new ForkUsageError(`--turns must be a positive integer, got "${f.turns}"`);
    body.maxTurns = Number(f.turns);
  }
  return body;
}

/** What `llmconv fork` prints: the new id on stdout, where it came from and its links on stderr. */
export function forkReport(res: ConversationSubmitResult, link: (path: string) => string): { stdout: string; stderr: string } {
  const from = res.fork ? `  forked from ${res.fork.parentId} at turn ${res.fork.atTurn} (turns before it shared)\n` : '';
  return {
    stdout: `${res.conversationId}\n`,
    stderr:
      (res.warnings ?? []).map((w) => `warning: ${w}\n`).join('') +
      from +
      `  status:     ${link(res.statusUrl)}\n  live page:  ${link(`/conversations/${res.conversationId}`)}\n  transcript: ${link(res.transcriptUrl)}\n`,
  };
}
