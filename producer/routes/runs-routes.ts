/**
 * `/runs` routes: submit a run or more seeds (streamed upload), list, progress, live progress
 * (SSE: `progress` events, then `end`), a browser page, and cancel.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../../shared/config';
import { RequestBodyError } from '../../shared/errors';
import { parseRunOptions, type RunService } from '../../runs/run-service';
import { seedFormatOf } from '../../runs/seed-reader';
import { runPageHtml } from './run-page';
import { queryInt } from '../query-int';

export interface RunsRoutesOptions {
  /** Interval of `progress` events on `GET /runs/:id/events`, ms. Default 1000. */
  progressMs?: number;
  /** Aborted at shutdown: open streams end so clients reconnect elsewhere. */
  signal?: AbortSignal;
}

export function runsRoutes(service: RunService, _config: Config, opts: RunsRoutesOptions = {}): Router {
  const router = new Router();
  const progressMs = opts.progressMs ?? 1000;

  const submit = async (ctx: Context, runId: string | undefined, mustExist: boolean) => {
    const format = seedFormatOf(ctx.get('content-type'));
    if (!format) {
      throw new RequestBodyError(`Content-Type must be application/x-ndjson, text/plain or text/csv (got "${ctx.get('content-type') || 'none'}")`, 415);
    }
    const options = parseRunOptions(ctx.query as Record<string, unknown>, ctx.get('run-options') || undefined);
    const result = await service.submit(ctx.req, format, options, runId, mustExist);
    ctx.status = 202;
    ctx.set('Location', result.statusUrl);
    ctx.body = result;
  };

  router.post('/runs', async (ctx) => {
    const run = typeof ctx.query.run === 'string' ? ctx.query.run : undefined;
    await submit(ctx, run, false);
  });
  router.post('/runs/:id/seeds', async (ctx) => submit(ctx, ctx.params.id!, true));

  router.get('/runs', async (ctx) => {
    const limit = queryInt(ctx.query, 'limit', { min: 1, max: 1000, default: 100 });
    ctx.body = { runs: await service.list(limit) };
  });

  router.get('/runs/:id', async (ctx) => {
    ctx.body = await service.view(ctx.params.id!, true);
  });

  router.get('/runs/:id/conversations', async (ctx) => {
    const start = queryInt(ctx.query, 'start', { min: 0, max: Number.MAX_SAFE_INTEGER, default: 0 });
    const limit = queryInt(ctx.query, 'limit', { min: 1, max: 1000, default: 100 });
    ctx.body = await service.conversations(ctx.params.id!, start, limit);
  });

  router.get('/runs/:id/page', async (ctx) => {
    await service.view(ctx.params.id!);
    const nonce = randomBytes(16).toString('base64');
    ctx.set('Content-Security-Policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = runPageHtml(ctx.params.id!, nonce);
  });

  router.get('/runs/:id/events', async (ctx) => {
    const id = ctx.params.id!;
    let last = JSON.stringify(await service.view(id));
    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    ctx.type = 'text/event-stream';
    ctx.status = 200;
    ctx.body = stream;
    const send = (event: string, data: string) => stream.write(`event: ${event}\ndata: ${data}\n\n`);
    send('progress', last);
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      stream.end();
    };
    const tick = async () => {
      const v = await service.view(id);
      const json = JSON.stringify(v);
      if (v.state !== 'active') {
        send('end', json);
        stop();
      } else if (json !== last) send('progress', json);
      else stream.write(': ping\n\n');
      last = json;
    };
    if (JSON.parse(last).state !== 'active') {
      send('end', last);
      stop();
      return;
    }
    timer = setInterval(() => void tick().catch(() => stop()), progressMs);
    ctx.req.once('close', stop);
    opts.signal?.addEventListener('abort', stop, { once: true });
  });

  router.delete('/runs/:id', async (ctx) => {
    ctx.body = await service.cancel(ctx.params.id!);
  });

  return router;
}
