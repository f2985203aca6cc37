/**
 * Structured JSON logs (pino); readable output on a terminal (pino-pretty). Secrets are redacted
 * by path. Lines about a job carry conversationId, turn, side, jobId and attempt (see
 * `jobLogFields` in workers/step-runner.ts); prompts and replies are logged at debug level only.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger };

const REDACT = [
  'apiKey', '*.apiKey', 'password', '*.password', 'secretAccessKey', '*.secretAccessKey', 'authorization',
  '*.authorization', 'headers.authorization', 'headers["x-api-key"]', '*.headers["x-api-key"]', 'sessionToken',
  '*.sessionToken', 'boardPassword', '*.boardPassword', 'apiGatewayApiKey', '*.apiGatewayApiKey',
  '*.headers.authorization', '*.headers["x-api-key"]', 'headers.cookie', '*.headers.cookie', 'secret', '*.secret',
  'token', '*.token', 'credentials', '*.credentials',
];

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
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.destination) return pino(base, opts.destination);
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino(base);
}

/** A logger that drops everything (tests and library defaults). */
export const silentLogger: Logger = pino({ level: 'silent' });
