/**
 * `/conversation` routes: submit (async or the seed's `?wait=true`), fork, status, transcript, cancel.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../../shared/config';
import { PipelineError } from '../../shared/errors';
import { renderTranscriptCsv } from '../../transcript/transcript-csv';
import { toSeedResponse, toView, type ConversationService } from '../conversation-service';
import { errorBody } from '../error-middleware';
import { readJsonBody } from '../json-body';
import { callerOf } from '../api-key-auth';
import { loadPriceTable } from '../../cost/price-table';
import { stepCostUsd } from '../../cost/conversation-cost';
import { LiveSlots, onClientGone } from '../live-slots';
import type { ConversationSubmitResult } from '../../api/http-contract';

/**
 * What to tell a client whose `outputFile` was not used as given: a path (the seed's examples send
 * `/opt/app/conversation.csv`) is reduced to its file name inside OUTPUT_DIR, a name without
 * `.csv` gets it. Undefined when the name is used as sent (or none was sent).
 */
export function outputFileNote(body: unknown, used: string): string | undefined {
  const given = (body as { outputFile?: unknown } | null)?.outputFile;
  if (typeof given !== 'string' || given.trim() === '' || given.trim() === used) return undefined;
  const path = /[\\/]/.test(given);
  return `outputFile "${given.slice(0, 200)}" is written as "${used}" inside the producer's OUTPUT_DIR${path ? ': a transcript never leaves OUTPUT_DIR, so only the file name of a path is kept' : ''}`;
}

/** The request's Idempotency-Key (docs/callers.md); 400 for one that is not 1-255 visible ASCII characters. */
function idempotencyKeyOf(ctx: Context): string | undefined {
  const key = ctx.get('idempotency-key') || undefined;
  if (key !== undefined && (key.length > 255 || !/^[\x21-\x7e]+$/.test(key))) {
    throw new PipelineError('Idempotency-Key must be 1-255 visible ASCII characters', { code: 'invalid_request', status: 400 });
  }
  return key;
}

/**
 * @param waits the pool `?wait=true` takes a slot from (MAX_WAITS); default one of its own.
 */
export function conversationRoutes(service: ConversationService, config: Config, waits?: LiveSlots): Router {
  const router = new Router();
  const pool = waits ?? new LiveSlots({ max: config.maxWaits, setting: 'MAX_WAITS', what: 'waiting requests', code: 'too_many_waits' });

  router.post('/conversation', async (ctx) => {
    const body = await readJsonBody(ctx, config.maxBodyBytes);
    const key = idempotencyKeyOf(ctx);
    const wait = ['true', '1', 'yes'].includes(String(ctx.query.wait ?? '').toLowerCase());
    // The slot is taken before anything is created: a 503 leaves nothing behind.
    const release = wait ? pool.take(ctx, 'wait', 'submit without ?wait=true and poll GET /conversation/:id') : undefined;
    const { id, created, record, warnings } = await service.submit(body, key, callerOf(ctx));
    if (wait) {
      // A client that hangs up ends the wait, not the conversation: it keeps running (the same
      // Idempotency-Key finds it again, GET /conversation/:id shows it).
      const ac = new AbortController();
      const stop = onClientGone(ctx.res, () => ac.abort());
      let done: Awaited<ReturnType<ConversationService['waitForTerminal']>>;
      try {
        done = await service.waitForTerminal(id, record.deadline - Date.now() + 5_000, ac.signal);
        // A completed answer names its transcript file, written by the step that follows the end.
        if (done.status === 'completed') done = await service.waitForTranscript(done, 5_000, ac.signal);
      } finally {
        stop();
        release!();
      }
      if (ac.signal.aborted) return;
      const { turns } = await service.get(id, callerOf(ctx));
      const view = toView(done, turns, loadPriceTable(config.pricesFile, config.modelCatalogFile));
      ctx.set('Location', `/conversation/${id}`);
      if (done.status === 'completed') {
        ctx.status = 200;
        ctx.body = toSeedResponse(view);
        return;
      }
      ctx.status = done.status === 'timed_out' ? 504 : done.status === 'cancelled' ? 409 : 502;
      ctx.body = errorBody(`conversation_${done.status}`, done.error ?? `conversation ${done.status}`, toSeedResponse(view));
      return;
    }
    ctx.status = 202;
    ctx.set('Location', `/conversation/${id}`);
    if (!created) ctx.set('Idempotent-Replayed', 'true');
    const renamed = outputFileNote(body, record.settings.outputFile);
    const notes = renamed ? [...warnings, renamed] : warnings;
    const accepted: ConversationSubmitResult = {
      conversationId: id,
      status: record.status,
      statusUrl: `/conversation/${id}`,
      transcriptUrl: `/conversation/${id}/transcript`,
      outputFile: record.settings.outputFile,
      ...(notes.length ? { warnings: notes } : {}),
    };
    ctx.body = accepted;
  });

  // A fork: the parent's turns 1..atTurn-1 shared, turn atTurn asked again with other settings (docs/branches.md).
  router.post('/conversation/:id/fork', async (ctx) => {
    const body = await readJsonBody(ctx, config.maxBodyBytes);
    const { id, created, record, warnings } = await service.fork(ctx.params.id!, body, idempotencyKeyOf(ctx), callerOf(ctx));
    ctx.status = 202;
    ctx.set('Location', `/conversation/${id}`);
    if (!created) ctx.set('Idempotent-Replayed', 'true');
    const renamed = outputFileNote(body, record.settings.outputFile);
    const notes = renamed ? [...warnings, renamed] : warnings;
    const accepted: ConversationSubmitResult = {
      conversationId: id,
      status: record.status,
      statusUrl: `/conversation/${id}`,
      transcriptUrl: `/conversation/${id}/transcript`,
      outputFile: record.settings.outputFile,
      ...(record.settings.fork ? { fork: { ...record.settings.fork } } : {}),
      ...(notes.length ? { warnings: notes } : {}),
    };
    ctx.body = accepted;
  });

  router.get('/conversation/:id', async (ctx) => {
    ctx.body = await service.view(ctx.params.id!, callerOf(ctx));
  });

  router.get('/conversation/:id/transcript', async (ctx) => {
    const { record, turns } = await service.get(ctx.params.id!, callerOf(ctx));
    ctx.type = 'text/csv; charset=utf-8';
    ctx.set('Content-Disposition', `attachment; filename="${record.settings.outputFile}"`);
    const prices = loadPriceTable(config.pricesFile, config.modelCatalogFile);
    ctx.body = renderTranscriptCsv(record, turns, {
      escapeFormulas: config.csvEscapeFormulas,
      costOf: (side, step) => stepCostUsd(side, step, prices),
    });
  });

  router.delete('/conversation/:id', async (ctx) => {
    const record = await service.cancel(ctx.params.id!, callerOf(ctx));
    ctx.body = { conversationId: record.id, status: record.status, stopReason: record.stopReason ?? null };
  });

  return router;
}
