/**
 * One line of `llmconv doctor` (and of `GET /ready?verbose=1`): what was checked, how it stands,
 * what was found and, for a warning or a failure, what to do and which setting to change.
 *
 * `skip`: nothing real is configured for that part (the emulators or the embedded defaults run in
 * its place), said instead of failing. Only `fail` makes the doctor exit non-zero.
 */
import type { Config, Env } from '../shared/config';
import type { ModelCatalog } from '../shared/model-catalog';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable name, e.g. `aws.identity`, `bedrock.model`, `ollama.context`. */
  check: string;
  status: CheckStatus;
  /** What was found (never a secret). */
  found: string;
  /** What to do (warn and fail). */
  fix?: string;
  /** The setting to change (warn and fail). */
  setting?: string;
}

/** What every check reads. */
export interface DoctorContext {
  config: Config;
  /** The environment the config was read from (the AWS SDK reads its own settings from `process.env`). */
  env: Env;
  catalog: ModelCatalog;
  /** `--probe`: one paid 1-token call through the whole cloud path. */
  probe: boolean;
  /** Bound of each outside call, ms. */
  timeoutMs: number;
  /** Lines written before a check runs (the probe's worst-case cost). */
  note(line: string): void;
}

/** A check: one or more lines. */
export type Check = (ctx: DoctorContext) => Promise<CheckResult[]>;

export const ok = (check: string, found: string): CheckResult => ({ check, status: 'ok', found });
export const skip = (check: string, found: string): CheckResult => ({ check, status: 'skip', found });
export const warn = (check: string, found: string, fix: string, setting: string): CheckResult => ({
  check,
  status: 'warn',
  found,
  fix,
  setting,
});
export const fail = (check: string, found: string, fix: string, setting: string): CheckResult => ({
  check,
  status: 'fail',
  found,
  fix,
  setting,
});

/** An error's name and message, one line, bounded (no stack, no request content). */
export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string } | undefined;
  const name = e?.name && e.name !== 'Error' ? `${e.name}: ` : '';
  const text = `${name}${e?.message || e?.code || String(err)}`.replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** Resolves with `p`, or rejects after `ms` naming `what`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`${what} did not answer within ${ms} ms`), { name: 'TimeoutError' })), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
