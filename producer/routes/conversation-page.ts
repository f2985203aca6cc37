/**
 * `GET /conversations/:id`: an HTML page for people showing the dialogue as it happens — the cloud
 * model and the local model as the two sides of a chat, each step's model, tokens and latency,
 * the final state and a link to the CSV — updated live from `GET /conversation/:id/events`.
 * Inline JS and CSS (no build step), locked down by a nonce-based Content-Security-Policy.
 */
import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { ConversationStore } from '../../store/conversation-store';
import { CONVERSATION_ID } from '../conversation-service';
import { CONVERSATION_PAGE_HTML } from './conversation-page-asset';
import { canSee } from '../../shared/caller';
import { callerOf } from '../api-key-auth';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page for one conversation; `nonce` authorises its inline script and style. */
export function renderConversationPage(conversationId: string, nonce: string): string {
  const config = JSON.stringify({
    conversationId,
    eventsUrl: `/conversation/${conversationId}/events`,
    transcriptUrl: `/conversation/${conversationId}/transcript`,
    // JSON inside <script>: never let a value close the element.
  }).replace(/</g, '\\u003c');
  return CONVERSATION_PAGE_HTML.replaceAll('__NONCE__', nonce).replace('__CONFIG__', config);
}

export function conversationPageRoute(store: ConversationStore): Router {
  const router = new Router();
  router.get('/conversations/:id', async (ctx) => {
    const id = ctx.params.id!;
    const record = CONVERSATION_ID.test(id) ? await store.get(id) : null;
    const known = record !== null && canSee(callerOf(ctx), record.owner);
    const nonce = randomBytes(16).toString('base64');
    ctx.set(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/html; charset=utf-8';
    if (!known) {
      ctx.status = 404;
      ctx.body = `<!doctype html><meta charset="utf-8"><title>Not found</title><p>No conversation with id <code>${escapeHtml(id)}</code> (unknown or expired).</p>`;
      return;
    }
    ctx.body = renderConversationPage(id, nonce);
  });
  return router;
}
