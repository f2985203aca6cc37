/**
 * `GET /runs/:id/export` and `GET /conversation/:id/export`: a run (or one conversation) as a
 * dataset, streamed (README, "Datasets: exporting a run"). The response is pulled from the
 * exporter, so the client's pace sets the pace of the Redis reads.
 */
import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Redis } from 'ioredis';
import { exportConversations, exportPreferencePairs, storeLoader } from '../../export/export-stream';
import { formatMedia, parseExportQuery, type ExportOptions } from '../../export/export-options';
import { exportParquet } from '../../export/parquet-export';
import { exportHf, type HfCardFacts } from '../../export/hf-export';
import { loadRubric } from '../../judge/rubric';
import type { RunState } from '../../store/interfaces';
import { missingConversations, runConversationIds, runExists } from '../../export/run-conversation-ids';
import type { Config } from '../../shared/config';
import { PipelineError } from '../../shared/errors';
import type { ConversationStore } from '../../store/conversation-store';
import { JudgeStore } from '../../store/judge-store';
import { loadPriceTable } from '../../cost/price-table';
import { canSee } from '../../shared/caller';
import { RunStore } from '../../store/run-store';
import { locateRun, publicRunId, runIdCandidates } from '../../runs/run-ids';
import { callerOf } from '../api-key-auth';

export interface RunsExportDeps {
  config: Pick<Config, 'queuePrefix' | 'csvEscapeFormulas' | 'pricesFile' | 'modelCatalogFile'> &
    Partial<Pick<Config, 'retentionSeconds' | 'judgeRubricFile'>>;
  redis: Redis;
  store: ConversationStore;
}

/** A conversation id that cannot reach another key (no `:`); the pipeline's own ids are UUIDs. */
const KEY_SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A file name part that is safe in a header and on any file system. */
const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);

/** What the `hf` export's card says of the source: a run (its record) or one conversation. */
interface Source {
  title: string;
  runId: string | null;
  run: RunState | null;
  /** Ids the export starts with (shards the `hf` files). */
  total: number;
}

function send(
  ctx: Context,
  name: string,
  opts: ExportOptions,
  ids: AsyncIterable<string> | Iterable<string>,
  deps: RunsExportDeps,
  source: Source,
): void {
  const media = formatMedia(opts.format);
  const side = opts.format === 'csv' ? '' : `-${opts.assistant}`;
  // Each conversation carries its judgement and cost (the prices the producer uses everywhere).
  const prices = loadPriceTable(deps.config.pricesFile, deps.config.modelCatalogFile);
  const loader = storeLoader(deps.store, { judges: new JudgeStore(deps.redis, deps.config.queuePrefix, deps.store.archiveReads), prices });
  const withPrices = { ...opts, prices };
  let body: AsyncIterable<string | Uint8Array>;
  if (opts.format === 'dpo') body = exportPreferencePairs(ids, loader, (id) => deps.store.forks(id), opts);
  else if (opts.format === 'parquet') body = exportParquet(ids, loader, withPrices);
  else if (opts.format === 'hf') {
    const rubricFile = deps.config.judgeRubricFile;
    const facts: HfCardFacts = {
      title: source.title,
      runId: source.runId,
      run: source.run,
      prices,
      ...(deps.config.pricesFile ? { pricesFile: deps.config.pricesFile } : {}),
      ...(deps.config.modelCatalogFile ? { modelCatalogFile: deps.config.modelCatalogFile } : {}),
      ...(rubricFile ? { rubric: loadRubric(rubricFile), rubricFile } : {}),
    };
    body = exportHf(ids, loader, withPrices, facts, { total: source.total });
  } else body = exportConversations(ids, loader, withPrices);
  ctx.type = media.type;
  ctx.set('Content-Disposition', `attachment; filename="${safeName(name)}-${opts.format}${side}.${media.ext}"`);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = Readable.from(body, { objectMode: false, highWaterMark: 64 * 1024 });
}

/** The first of `ids` for which `exists` holds. */
async function firstExisting(ids: string[], exists: (id: string) => Promise<boolean>): Promise<string | undefined> {
  for (const id of ids) if (await exists(id)) return id;
  return undefined;
}

export function runsExportRoutes(deps: RunsExportDeps): Router {
  const router = new Router();
  const parse = (ctx: Context) => parseExportQuery(ctx.query, { escapeFormulas: deps.config.csvEscapeFormulas });

  // A run's keys are at its shard (REDIS_SHARDS): the conversation store's shards, else QUEUE_PREFIX.
  const runs = new RunStore(deps.redis, deps.store.shards, deps.store.archive);

  router.get('/runs/:id/export', async (ctx) => {
    const caller = callerOf(ctx);
    const asked = ctx.params.id!;
    const opts = parse(ctx);
    // The caller's own runs only (docs/callers.md); a run without its hash is an admin's to export.
    // The id's form is checked (runs/run-ids.ts): it becomes part of Redis keys (`nightly:convs` would reach a sibling key of run `nightly`).
    // locateRun finds the stored id (and its shard suffix: runs/run-ids.ts) the caller's id names.
    const located = await locateRun(runs, caller, asked);
    const state = located?.state ?? null;
    let runId = located?.id;
    if (!state && caller.admin)
      runId = await firstExisting(runIdCandidates(runs.shards, caller, asked), (id) =>
        runExists(deps.redis, runs.shards, id, deps.store.archive),
      );
    const visible = state ? canSee(caller, state.owner) : caller.admin && runId !== undefined;
    if (!visible) {
      throw new PipelineError(`no run with id "${asked}" (unknown, or nothing admitted yet)`, { code: 'not_found', status: 404 });
    }
    // Conversations whose record expired cannot be exported: all of them gone is a 410 naming them,
    // some of them gone is counted in X-Missing-Conversations (the ids: GET /runs/:id/conversations, status `expired`).
    const gone = await missingConversations(
      deps.redis,
      runs.shards,
      runId!,
      (id) => deps.store.recordKeys(id)[0],
      100,
      500,
      deps.store.archive,
    );
    if (gone.total > 0 && gone.missing === gone.total) {
      const kept =
        deps.config.retentionSeconds === undefined
          ? ''
          : ` (finished conversations are kept RETENTION_SECONDS=${deps.config.retentionSeconds})`;
      throw new PipelineError(
        `all ${gone.total} conversations of run "${asked}" have expired${kept}: there is nothing left to export; the run's counts remain at GET /runs/${asked}`,
        { code: 'conversations_expired', status: 410, details: { total: gone.total, missing: gone.missing, conversationIds: gone.ids } },
      );
    }
    ctx.set('X-Missing-Conversations', String(gone.missing));
    ctx.set('X-Run-Conversations', String(gone.total));
    const shown = publicRunId(caller, runId!);
    send(ctx, `run-${shown}`, opts, runConversationIds(deps.redis, runs.shards, runId!, 500, deps.store.archive), deps, {
      title: state?.name || `run ${shown}`,
      runId: shown,
      run: state,
      total: gone.total,
    });
  });

  router.get('/conversation/:id/export', async (ctx) => {
    const id = ctx.params.id!;
    const opts = parse(ctx);
    const record = KEY_SAFE_ID.test(id) ? await deps.store.get(id) : undefined;
    if (!record || !canSee(callerOf(ctx), record.owner))
      throw new PipelineError(`no conversation with id "${id}" (unknown or expired)`, { code: 'not_found', status: 404 });
    send(ctx, `conversation-${id}`, opts, [id], deps, { title: `conversation ${id}`, runId: null, run: null, total: 1 });
  });

  return router;
}
