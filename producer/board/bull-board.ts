/**
 * Bull Board (`@bull-board/koa`) for the pipeline's queues, behind {@link decideBoardAccess}.
 * Mounted as a `before` middleware of `createApp`, i.e. ahead of the API key check, because the
 * board has its own access rule (see `board-access.ts`).
 *
 * @example
 * const board = createBoardMiddleware({ queues: queues.all, username, password, apiKey });
 * createApp({ ...deps, before: [board] });
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Queue } from 'bullmq';
import type { Context, Middleware, Next } from 'koa';
import { errorBody } from '../error-middleware';
import { QUEUE_NAMES } from '../../queue/job-types';
import { decideBoardAccess, type BoardAccessOptions } from './board-access';

export const BOARD_PATH = '/admin/queues';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a board action (retry, clean, promote …) must be refused, or undefined: the board's own page
 * sends them with fetch as JSON (or no body) from its own origin. A form or `text/plain` post
 * needs no CORS preflight, and the browser would add the Basic-auth credentials it keeps by itself.
 */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}

export function boardActionProblem(ctx: Context): { status: 403 | 415; code: string; message: string } | undefined {
  if (READS.has(ctx.method)) return undefined;
  const type = ctx.get('content-type').split(';')[0]!.trim().toLowerCase();
  if (type !== '' && type !== 'application/json') {
    return {
      status: 415,
      code: 'unsupported_media_type',
      message: `Bull Board actions take JSON or no body, not ${type} (form and text posts are refused: another site's page could send them)`,
    };
  }
  const origin = ctx.get('origin');
  const site = ctx.get('sec-fetch-site');
  // The host part only: behind a TLS proxy the page is https and the producer sees http.
  const own = ctx.get('host').toLowerCase();
  if ((origin && originHost(origin) !== own) || (site && site !== 'same-origin' && site !== 'none')) {
    return {
      status: 403,
      code: 'forbidden_origin',
      message: `Bull Board actions are taken from the board's own page only (same origin as ${own}); this one came from ${(origin || `a ${site} page`).slice(0, 100)}`,
    };
  }
  return undefined;
}

/**
 * A queue on the board whose "rate limited" badge means a limit: BullMQ's `getRateLimitTtl()`
 * without a maximum answers the TTL of the limiter's counter, which exists for a window after
 * every fetch of a worker with a limiter (the cloud worker always has one, so a throttling pause
 * is honoured: workers/worker-host.ts), and the board showed "rate limited 1s" with no limit set.
 * Given the limit (CLOUD_RATE_LIMIT_MAX, else any count short of the pause's
 * `Number.MAX_SAFE_INTEGER`), it is non-zero only while a limit or a 429 pause holds.
 */
export class LimitedQueueAdapter extends BullMQAdapter {
  constructor(
    private readonly bullQueue: Queue,
    options: ConstructorParameters<typeof BullMQAdapter>[1],
    private readonly limiterMax: number,
  ) {
    super(bullQueue, options);
  }

  override async getActiveRateLimitTtl(): Promise<number> {
    const ttl = await this.bullQueue.getRateLimitTtl(this.limiterMax);
    return ttl > 0 ? ttl : 0;
  }
}

/**
 * The board's page without its web-font stylesheet: @bull-board/ui's `index.ejs` links Google
 * Fonts (IBM Plex), a request off the machine on every visit that fails offline; the page falls
 * back to the system fonts its CSS names next to them.
 */
export function withoutExternalFonts(html: string): string {
  return html.replace(/<link[^>]+href="https:\/\/fonts\.(googleapis|gstatic)\.com[^"]*"[^>]*>\s*/g, '');
}

export interface BoardMiddlewareOptions extends BoardAccessOptions {
  /** The queues shown (the pipeline's cloud, local, transcript and judge queues). */
  queues: Queue[];
  /** CLOUD_RATE_LIMIT_MAX: the cloud queue's limit per window (0: none, only a 429 pause shows). */
  cloudRateLimitMax?: number;
  /** Where the board lives. Default `/admin/queues`. */
  basePath?: string;
  /** Board title. Default `llmconv queues`. */
  title?: string;
}

/**
 * With REDIS_SHARDS each role has a queue per shard, under the same name: the board (which keys
 * queues by name) shows them grouped by shard, `shard-0.cloud` … in a `shard-0` group (the UI's
 * `delimiter` tree). One shard: the names alone, as before.
 */
export function shardGroup(q: Queue, all: readonly Queue[]): { prefix: string; delimiter: string } | Record<string, never> {
  const prefixes = [...new Set(all.map((x) => x.opts.prefix ?? ''))];
  if (prefixes.length < 2) return {};
  return { prefix: `shard-${prefixes.indexOf(q.opts.prefix ?? '')}.`, delimiter: '.' };
}

/**
 * The board and its gate as one middleware; requests outside `basePath` pass straight through.
 * Read-only unless board credentials are configured.
 */
export function createBoardMiddleware(opts: BoardMiddlewareOptions): Middleware {
  const basePath = opts.basePath ?? BOARD_PATH;
  const readOnlyMode = !(opts.username !== undefined && opts.password !== undefined);
  const serverAdapter = new KoaAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: opts.queues.map(
      (q) =>
        new LimitedQueueAdapter(
          q,
          { readOnlyMode, description: `${q.name} steps`, ...shardGroup(q, opts.queues) },
          q.name === QUEUE_NAMES.cloud && (opts.cloudRateLimitMax ?? 0) > 0 ? opts.cloudRateLimitMax! : Number.MAX_SAFE_INTEGER,
        ),
    ),
    // @bull-board/koa pins an older @bull-board/api whose typings differ only in private members.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: opts.title ?? 'llmconv queues', hideDocsLink: true } },
  });
  const board = serverAdapter.registerPlugin() as unknown as Middleware;
  const inside = (path: string) => path === basePath || path.startsWith(`${basePath}/`);

  return async function boardGate(ctx: Context, next: Next) {
    if (!inside(ctx.path)) return next();
    const decision = decideBoardAccess(opts, {
      remoteAddress: ctx.socket.remoteAddress,
      authorization: ctx.get('authorization') || undefined,
    });
    if (!decision.allow) {
      ctx.status = 401;
      if (decision.challenge) ctx.set('WWW-Authenticate', 'Basic realm="Bull Board", charset="UTF-8"');
      ctx.body = errorBody('unauthorized', decision.reason);
      return;
    }
    const refused = boardActionProblem(ctx);
    if (refused) {
      ctx.status = refused.status;
      ctx.body = errorBody(refused.code, refused.message);
      return;
    }
    // Nothing under the board's path belongs to the API: an unknown board path is a 404 here,
    // not a trip through the API key check.
    await board(ctx, async () => {
      ctx.status = 404;
      ctx.body = errorBody('not_found', `no board route for ${ctx.method} ${ctx.path}`);
    });
    if (typeof ctx.body === 'string' && ctx.response.is('html')) ctx.body = withoutExternalFonts(ctx.body);
  };
}
