/**
 * `DELETE /archive?before=<date>&run=<id>`: prune the archive and the transcript dir together
 * (producer/archive-prune.ts, `llmconv prune`). Admin callers only: it removes every caller's data.
 */
import Router from '@koa/router';
import type { ConversationStore } from '../../store/conversation-store';
import { PipelineError } from '../../shared/errors';
import { callerOf } from '../api-key-auth';
import { pruneArchive } from '../archive-prune';

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[v.length - 1] : v);

export function archiveRoute(store: ConversationStore, outputDir: string): Router {
  const router = new Router();
  router.delete('/archive', async (ctx) => {
    if (!callerOf(ctx).admin)
      throw new PipelineError(
        "pruning the archive removes every caller's conversations: use an admin key (API_KEY, or role: admin in API_KEYS_FILE)",
        {
          code: 'forbidden',
          status: 403,
        },
      );
    const before = one(ctx.query.before);
    const run = one(ctx.query.run);
    ctx.body = await pruneArchive(store.archive, outputDir, {
      ...(before !== undefined ? { before } : {}),
      ...(run !== undefined ? { run } : {}),
    });
  });
  return router;
}
