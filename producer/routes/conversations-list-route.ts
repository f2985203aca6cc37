/**
 * `GET /conversations?limit=N`: the most recent conversations, newest first, with their state and
 * progress (for the CLI's `list` and for people). `limit` is 1-200, default 20. Ids whose record
 * has expired are left out. `GET /conversations/:id` (the HTML page) is a different route.
 */
import Router from '@koa/router';
import type { ConversationStore } from '../../store/conversation-store';
import { queryInt } from '../query-int';
import type { ConversationSummary } from '../../api/http-contract';
import { canSee } from '../../shared/caller';
import { callerOf } from '../api-key-auth';

export const LIST_LIMIT_MAX = 200;

/** At most this many characters of the opening question are listed. */
const QUERY_PREVIEW = 120;

export function conversationsListRoute(store: ConversationStore): Router {
  const router = new Router();
  router.get('/conversations', async (ctx) => {
    const limit = queryInt(ctx.query, 'limit', { min: 1, max: LIST_LIMIT_MAX, default: 20 });
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
