/**
 * `/runs` routes: submit a run or more seeds (streamed upload), list, progress, live progress
 * (SSE: `progress` events, then `end`), a browser page, and cancel.
 */
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../../shared/config';
import { RequestBodyError } from '../../shared/errors';
import { parseRunOptions, parseRunOptionsHeader, runViewFor, type RunService } from '../../runs/run-service';
import type { RunView } from '../../api/http-contract';
import { seedFormatOf } from '../../runs/seed-reader';
import { readJsonRunBody } from '../../runs/generator-body';
import { generatedSeeds, parseGenerator } from '../../runs/seed-generator';
import { runPageHtml } from './run-page';
import { runsListPageHtml } from './runs-list-page';
import { pageHeaders } from './page-shell';
import { loadPriceTable } from '../../cost/price-table';
import { conversationCost } from '../../cost/conversation-cost';
import { callerOf } from '../api-key-auth';
import type { CallerGuard } from '../caller-guard';
import { LiveSlots } from '../live-slots';
import { queryInt } from '../query-int';
import { RunProgressFeed } from '../run-progress-feed';

export interface RunsRoutesOptions {
  /** Interval of `progress` events on `GET /runs/:id/events`, ms. Default 1000. */
  progressMs?: number;
  /** Aborted at shutdown: open streams end so clients reconnect elsewhere. */
  signal?: AbortSignal;
  /** Refuses new seeds from a caller whose budget is spent (docs/callers.md). */
  guard?: CallerGuard;
  /** The process's pool of streams of every kind (SSE_MAX_STREAMS). Default: one of its own. */
  streams?: LiveSlots;
}

export function runsRoutes(service: RunService, config: Config, opts: RunsRoutesOptions = {}): Router {
  const router = new Router();
  const progressMs = opts.progressMs ?? 1000;
  const streams =
    opts.streams ??
    new LiveSlots({
      max: config.sseMaxStreams,
      setting: 'SSE_MAX_STREAMS',
      what: 'live streams',
      code: 'too_many_streams',
      retryAfterSeconds: 15,
    });
  const feed = new RunProgressFeed((id) => service.view(id), progressMs);
  opts.signal?.addEventListener('abort', () => feed.close(), { once: true });

  const submit = async (ctx: Context, runId: string | undefined, mustExist: boolean) => {
    const format = seedFormatOf(ctx.get('content-type'));
    if (!format) {
      throw new RequestBodyError(
        `Content-Type must be application/x-ndjson, text/plain or text/csv, or application/json for a generator (got "${ctx.get('content-type') || 'none'}")`,
        415,
      );
    }
    // A JSON body may be a generator instead of seeds (runs/generator-body.ts): its settings are run options.
    const json = ctx.get('content-type').split(';')[0]!.trim().toLowerCase() === 'application/json';
    const read = json ? await readJsonRunBody(ctx.req) : undefined;
    const header = ctx.get('run-options') || undefined;
    const optionsJson =
      read?.kind === 'generator' ? JSON.stringify({ ...(header ? parseRunOptionsHeader(header) : {}), ...read.settings }) : header;
    const options = parseRunOptions(ctx.query as Record<string, unknown>, optionsJson, config.runMaxActiveLimit);
    const declared = ctx.get('content-length') ? Number(ctx.get('content-length')) : undefined;
    await opts.guard?.assertBudget(callerOf(ctx));
    const seeds = read?.kind === 'generator' ? generatedSeeds(parseGenerator(read.generator, config.samplerDir)) : (read?.body ?? ctx.req);
    const result = await service.submit(
      seeds,
      read?.kind === 'generator' ? 'generated' : format,
      options,
      runId,
      mustExist,
      Number.isFinite(declared) ? declared : undefined,
      callerOf(ctx),
    );
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
    // A browser (HTML preferred over JSON) gets the runs list page, which reads this same route as JSON.
    if (ctx.accepts('json', 'html') === 'html') {
      ctx.body = runsListPageHtml(pageHeaders(ctx));
      return;
    }
    const limit = queryInt(ctx.query, 'limit', { min: 1, max: 1000, default: 100 });
    ctx.body = { runs: await service.list(limit, callerOf(ctx)) };
  });

  router.get('/runs/:id', async (ctx) => {
    ctx.body = await service.view(ctx.params.id!, true, callerOf(ctx));
  });

  router.get('/runs/:id/conversations', async (ctx) => {
    const start = queryInt(ctx.query, 'start', { min: 0, max: Number.MAX_SAFE_INTEGER, default: 0 });
    const limit = queryInt(ctx.query, 'limit', { min: 1, max: 1000, default: 100 });
    const prices = loadPriceTable(config.pricesFile, config.modelCatalogFile);
    ctx.body = await service.conversations(
      ctx.params.id!,
      start,
      limit,
      callerOf(ctx),
      (turns) => conversationCost(turns, prices).totalUsd,
    );
  });

  router.get('/runs/:id/page', async (ctx) => {
    await service.view(ctx.params.id!, false, callerOf(ctx));
    ctx.body = runPageHtml(ctx.params.id!, pageHeaders(ctx), Boolean(config.judgeRubricFile));
  });

  router.get('/runs/:id/events', async (ctx) => {
    const id = ctx.params.id!;
    // Counted with every other stream (SSE_MAX_STREAMS); the run's one poller feeds them all.
    const release = streams.take(ctx, 'run', `poll GET /runs/${id}`);
    // The feed is shared by everyone watching the stored run; each stream shows it as its caller names it.
    const caller = callerOf(ctx);
    const shown = (json: string) => (caller.admin ? json : JSON.stringify(runViewFor(caller, JSON.parse(json) as RunView)));
    let first: string;
    let stored: string;
    try {
      stored = (await service.resolve(id, caller)).id;
      first = JSON.stringify(await service.view(stored));
    } catch (err) {
      release();
      throw err;
    }
    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    ctx.type = 'text/event-stream';
    ctx.status = 200;
    ctx.body = stream;
    // Nothing is written once the client is gone (a write to the destroyed stream is an error).
    const open = () => !stream.destroyed && !stream.writableEnded;
    const send = (event: string, data: string) => {
      if (open()) stream.write(`event: ${event}\ndata: ${data}\n\n`);
    };
    send('progress', shown(first));
    if ((JSON.parse(first) as { state: string }).state !== 'active') {
      send('end', shown(first));
      stream.end();
      return;
    }
    let off = () => {};
    const stop = () => {
      off();
      release();
      opts.signal?.removeEventListener('abort', stop);
      if (open()) stream.end();
    };
    off = feed.subscribe(
      stored,
      (ev) => {
        if (ev.event === 'ping') {
          if (open()) stream.write(': ping\n\n');
          return;
        }
        send(ev.event, shown(ev.data));
        if (ev.event === 'end') stop();
      },
      first,
    );
    ctx.res.once('close', stop);
    opts.signal?.addEventListener('abort', stop, { once: true });
  });

  router.delete('/runs/:id', async (ctx) => {
    ctx.body = await service.cancel(ctx.params.id!, callerOf(ctx));
  });

  return router;
}
