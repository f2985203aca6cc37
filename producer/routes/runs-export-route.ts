/**
 * `GET /runs/:id/export` and `GET /conversation/:id/export`: a run (or one conversation) as a
 * dataset, streamed (README, "Datasets: exporting a run"). The response is pulled from the
 * exporter, so the client's pace sets the pace of the Redis reads.
 */
import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Redis } from 'ioredis';
import { exportConversations, storeLoader } from '../../export/export-stream';
import { formatMedia, parseExportQuery, type ExportOptions } from '../../export/export-options';
import { runConversationIds, runExists } from '../../export/run-conversation-ids';
import type { Config } from '../../shared/config';
import { PipelineError } from '../../shared/errors';
import type { ConversationStore } from '../../store/conversation-store';
import { JudgeStore } from '../../store/judge-store';
import { loadPriceTable } from '../../cost/price-table';
import { RUN_ID } from '../../runs/seed-identity';

export interface RunsExportDeps {
  config: Pick<Config, 'queuePrefix' | 'csvEscapeFormulas' | 'pricesFile'>;
  redis: Redis;
  store: ConversationStore;
}

/** A conversation id that cannot reach another key (no `:`); the pipeline's own ids are UUIDs. */
const KEY_SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A file name part that is safe in a header and on any file system. */
const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);

function send(ctx: Context, name: string, opts: ExportOptions, ids: AsyncIterable<string> | Iterable<string>, deps: RunsExportDeps): void {
  const media = formatMedia(opts.format);
  const side = opts.format === 'csv' ? '' : `-${opts.assistant}`;
  ctx.type = media.type;
  ctx.set('Content-Disposition', `attachment; filename="${safeName(name)}-${opts.format}${side}.${media.ext}"`);
  ctx.set('Cache-Control', 'no-store');
  // Each conversation carries its judgement and cost (the prices the producer uses everywhere).
  const prices = loadPriceTable(deps.config.pricesFile);
  const loader = storeLoader(deps.store, { judges: new JudgeStore(deps.redis, deps.config.queuePrefix), prices });
  ctx.body = Readable.from(exportConversations(ids, loader, { ...opts, prices }), { objectMode: false, highWaterMark: 64 * 1024 });
}

export function runsExportRoutes(deps: RunsExportDeps): Router {
  const router = new Router();
  const parse = (ctx: Context) => parseExportQuery(ctx.query, { escapeFormulas: deps.config.csvEscapeFormulas });

  router.get('/runs/:id/export', async (ctx) => {
    const runId = ctx.params.id!;
    const opts = parse(ctx);
    // The id becomes part of Redis keys: `nightly:convs` would reach a sibling key of run `nightly`.
    if (!RUN_ID.test(runId) || !(await runExists(deps.redis, deps.config.queuePrefix, runId))) {
      throw new PipelineError(`no run with id "${runId}" (unknown, or nothing admitted yet)`, { code: 'not_found', status: 404 });
    }
    send(ctx, `run-${runId}`, opts, runConversationIds(deps.redis, deps.config.queuePrefix, runId), deps);
  });

  router.get('/conversation/:id/export', async (ctx) => {
    const id = ctx.params.id!;
    const opts = parse(ctx);
    if (!KEY_SAFE_ID.test(id) || !(await deps.store.get(id))) throw new PipelineError(`no conversation with id "${id}" (unknown or expired)`, { code: 'not_found', status: 404 });
    send(ctx, `conversation-${id}`, opts, [id], deps);
  });

  return router;
}
