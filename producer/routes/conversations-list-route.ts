/**
 * `GET /conversations?limit=N`: the most recent conversations, newest first, with their state and
 * progress (for the CLI's `list` and for people). `limit` is 1-200, default 20. Ids whose record
 * has expired are left out. `GET /conversations/:id` (the HTML page) is a different route.
 */
import Router from '@koa/router';
import type { ConversationStore } from '../../store/conversation-store';
import { PipelineError } from '../../shared/errors';
import type { ConversationSummary } from '../../conversation/http-contract';
import { canSee } from '../../shared/caller';
import { callerOf } from '../api-key-auth';

export const LIST_LIMIT_MAX = 200;

/** At most this many characters of the opening question are listed. */
const QUERY_PREVIEW = 120;

export function conversationsListRoute(store: ConversationStore): Router {
  const router = new Router();
  router.get('/conversations', async (ctx) => {
    const raw = String(ctx.query.limit ?? '20');
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > LIST_LIMIT_MAX) {
      throw new PipelineError(`limit must be an integer from 1 to ${LIST_LIMIT_MAX}`, { code: 'invalid_request', status: 400 });
    }
    // A caller lists its own (its list, docs/callers.md); an admin the global one.
    const caller = callerOf(ctx);
    const ids = caller.admin ? await store.recent(limit) : caller.id === undefined ? [] : await store.recent(limit, caller.id);
    const rows = await Promise.all(
      ids.map(async (id): Promise<ConversationSummary | null> => {
        const loaded = await store.getConversation(id);
        if (!loaded || !canSee(caller, loaded.record.owner)) return null;
        const { record, turns } = loaded;
        const q = record.settings.initialQuery;
        return {
          conversationId: id,
          status: record.status,
          stopReason: record.stopReason ?? null,
          createdAt: new Date(record.createdAt).toISOString(),
          updatedAt: new Date(record.updatedAt).toISOString(),
          maxTurns: record.settings.maxTurns,
          turnsCompleted: turns.filter((t) => t.cloud && t.local).length,
          initialQuery: q.length > QUERY_PREVIEW ? `${q.slice(0, QUERY_PREVIEW - 1)}…` : q,
          pageUrl: `/conversations/${id}`,
        };
      }),
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { conversations: rows.filter((r): r is ConversationSummary => r !== null) };
  });
  return router;
}
