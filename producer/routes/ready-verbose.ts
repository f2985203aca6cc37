/**
 * `GET /ready?verbose=1`: the doctor's check lines (doctor/run-doctor.ts) from the running
 * producer, on its own config and Redis connection: `{ status, ok, checks: [{check, status, found,
 * fix?, setting?}] }`, 200 (503 when Redis does not answer, as plain `/ready`). Never the probe
 * (a GET spends no money). Only the check lines: no raw error text beyond them, no config dump.
 *
 * `/ready` is open for load balancers; the verbose answer names hosts and the AWS identity, so
 * with API_KEY set it needs the key (`x-api-key` or `Authorization: Bearer`). Its result is kept
 * for `cacheMs`, so a caller polling it does not turn each poll into STS and Bedrock calls.
 */
import type { Context, Next } from 'koa';
import type { Redis } from 'ioredis';
import { type DoctorReport, runDoctor } from '../../doctor/run-doctor';
import type { Config } from '../../shared/config';
import { safeEqual } from '../credentials';
import { errorBody } from '../error-middleware';

export interface ReadyVerboseOptions {
  config: Config;
  redis: Redis;
  /** How long one report is served again, ms. Default 10000. */
  cacheMs?: number;
  /** Bound of each outside call, ms. Default 3000. */
  timeoutMs?: number;
}

export function readyVerbose(opts: ReadyVerboseOptions) {
  let last: { at: number; report: Promise<DoctorReport> } | undefined;
  return async (ctx: Context, next: Next) => {
    if (ctx.query.verbose !== '1' && ctx.query.verbose !== 'true') return next();
    const key = opts.config.apiKey;
    if (key) {
      const given = ctx.get('x-api-key') || /^Bearer\s+(.+)$/i.exec(ctx.get('authorization'))?.[1] || '';
      if (!given || !safeEqual(given, key)) {
        ctx.status = 401;
        ctx.body = errorBody(
          'unauthorized',
          'GET /ready?verbose=1 needs the API key (x-api-key or Authorization: Bearer); plain /ready does not',
        );
        return;
      }
    }
    if (!last || Date.now() - last.at > (opts.cacheMs ?? 10_000)) {
      last = {
        at: Date.now(),
        report: runDoctor({ config: opts.config, env: process.env, redis: opts.redis, timeoutMs: opts.timeoutMs ?? 3000 }),
      };
    }
    const report = await last.report;
    const redisDown = report.checks.some((c) => c.check === 'redis' && c.status === 'fail');
    ctx.status = redisDown ? 503 : 200;
    ctx.body = { status: redisDown ? 'not_ready' : 'ready', ok: report.ok, checks: report.checks };
  };
}
