/**
 * Structured JSON logs (pino); readable output on a terminal (pino-pretty). Secrets are redacted
 * by key pattern, at any depth ({@link redactSecrets}), and no line leaves with a URL's password,
 * bare token or credential query value in it (`redactUrlsIn` over the finished line). Lines about a job carry conversationId, turn,
 * side, jobId and attempt (see `jobLogFields` in workers/step-lifecycle.ts); prompts and replies are
 * logged at debug level only.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config';
import { redactUrlsIn } from './redact-url';

export type { Logger };

/**
 * Keys whose values never reach a log line, at any depth, compared in lower case without `-`, `_`,
 * `.` and spaces: `api_key`, `x-api-key`, `apiGatewayApiKey`, `OPENAI_API_KEY`, `AWS_SECRET_ACCESS_KEY`,
 * `x-amz-security-token`, `sessionToken`, `BOARD_PASSWORD`, `Authorization`, `Set-Cookie`,
 * `credentials`, `X-Amz-Signature` … Token counts (`inputTokens`, `maxTokens`) are not secrets:
 * `token` counts only at the end of the name.
 */
const SECRET_KEY =
  /(?:apikeys?|passwd|passphrase|token|authorization|cookies?|credentials?|signature|privatekey|sessionid)$|^(?:auth|pwd|pass)$|secret|password/;
const keyVerdicts = new Map<string, boolean>();

/** True when a value under `key` is a secret (cached: the same few keys come by on every line). */
export function isSecretKey(key: string): boolean {
  let v = keyVerdicts.get(key);
  if (v === undefined) {
    v = SECRET_KEY.test(key.toLowerCase().replace(/[-_.\s]/g, ''));
    if (keyVerdicts.size < 10_000) keyVerdicts.set(key, v);
  }
  return v;
}
const CENSOR = '[redacted]';
const MAX_DEPTH = 8;

/**
 * A copy of `value` with every secret-named key's value replaced by `[redacted]`; objects without
 * secrets are returned as they are (no copy). Errors are walked like objects (their own enumerable
 * properties, e.g. an HTTP client's request config) and copied as errors of the same class.
 *
 * Not pino's `redact` paths: those are fixed paths (`*.headers["x-api-key"]` misses a third
 * level) and cost several times this walk per line (BENCHMARKS.md has the measurement), which made
 * logging the pipeline's largest cost of its own per step.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item: unknown, i) => {
      const clean = redactSecrets(item, depth + 1);
      if (clean !== item) (out ??= value.slice())[i] = clean;
    });
    return (out ?? value) as T;
  }
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    const clean = isSecretKey(key) ? (item === undefined ? item : CENSOR) : redactSecrets(item, depth + 1);
    if (clean !== item) (out ??= copyOf(value as Record<string, unknown>))[key] = clean;
  }
  return (out ?? value) as T;
}

/** A shallow copy; an Error stays an Error of its class, with its message and stack. */
function copyOf(value: Record<string, unknown>): Record<string, unknown> {
  if (value instanceof Error)
    return Object.create(Object.getPrototypeOf(value), Object.getOwnPropertyDescriptors(value)) as Record<string, unknown>;
  return { ...value };
}

export interface LoggerOptions {
  level?: LogLevel;
  name?: string;
  /** Pretty output; default: when stdout is a terminal. */
  pretty?: boolean;
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const base: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    name: opts.name,
    formatters: { log: (obj) => redactSecrets(obj), bindings: (bindings) => redactSecrets(bindings) },
    // The finished line, whatever put the URL there (a message, an error's stack, a deep value).
    hooks: { streamWrite: (line) => redactUrlsIn(line) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.destination) return redactingChildren(pino(base, opts.destination));
  if (pretty) {
    return redactingChildren(
      pino({
        ...base,
        transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
      }),
    );
  }
  return redactingChildren(pino(base));
}

/**
 * pino applies `formatters.bindings` to the root's bindings only, not to a child's: redact those
 * as the child is made. Children inherit this `child` (pino builds them on their parent).
 */
function redactingChildren(logger: Logger): Logger {
  const make = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return make.call(this, redactSecrets(bindings), options);
  } as Logger['child'];
  return logger;
}

/** A logger that drops everything (tests and library defaults). */
export const silentLogger: Logger = pino({ level: 'silent' });
