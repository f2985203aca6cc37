/**
 * `GET /conversation/:id/events`: live progress as Server-Sent Events.
 *
 * The stream:
 *  1. `snapshot` — the conversation as `GET /conversation/:id` shows it (state and turns so far);
 *  2. `cloud` / `local` — each step as it is recorded ({@link StepEventData});
 *  3. `status` — non-terminal state changes (`running`);
 *  4. `end` — the terminal state with the final view ({@link EndEventData}); then the server closes.
 * Comment lines (`: ping`) every `heartbeatMs` keep proxies from closing an idle stream; each
 * heartbeat also re-reads the store, so an event lost while the subscriber reconnected is caught
 * up and a terminal state is never missed. A conversation already over gets `snapshot` + `end`.
 *
 * Events come from the store's pub/sub channel through the process's {@link EventHub}; the
 * client's listener is removed when it disconnects.
 */
import { DEFAULT_PRICES, type PriceTable } from '../../cost/price-table';
import { stepCostUsd } from '../../cost/conversation-cost';
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { CloudStep, ConversationEvent, ConversationRecord, LocalStep, TurnRecord, Side } from '../../conversation/model';
import type { ConversationStore } from '../../store/conversation-store';
import { isTerminal } from '../../conversation/model';
import type { EventHub } from '../../coordination/event-hub';
import { LiveSlots } from '../live-slots';
import { silentLogger, type Logger } from '../../shared/logger';
import { CONVERSATION_ID, NotFoundError, toView } from '../conversation-service';
import type { EndEventData, StepEventData } from '../../api/http-contract';
import { canSee } from '../../shared/caller';
import { callerOf } from '../api-key-auth';

export interface EventsRouteOptions {
  store: ConversationStore;
  hub: EventHub;
  /** Interval of heartbeat comments and store re-reads, ms. Default 15000. */
  heartbeatMs?: number;
  /** The process's pool of streams of every kind (SSE_MAX_STREAMS); beyond it, 503. Default: 1000 of its own. */
  streams?: LiveSlots;
  logger?: Logger;
  /** Aborted when the process shuts down: open streams end (without `end`) so clients reconnect elsewhere. */
  signal?: AbortSignal;
  /** Prices for the steps' and the end view's cost (default: the shipped table). */
  prices?: PriceTable;
}

function stepData(id: string, side: Side, turn: number, step: CloudStep | LocalStep, prices: PriceTable): StepEventData {
  const base = {
    conversationId: id,
    turn,
    side,
    model: step.model,
    inputTokens: step.inputTokens,
    outputTokens: step.outputTokens,
    costUsd: stepCostUsd(side, step, prices),
    latencyMs: step.latencyMs,
    stopReason: step.stopReason,
    at: new Date(step.at).toISOString(),
  };
  return side === 'cloud'
    ? { ...base, question: (step as CloudStep).question, text: (step as CloudStep).answer }
    : { ...base, text: (step as LocalStep).followUp };
}

export function eventsRoute(opts: EventsRouteOptions): Router {
  const { store, hub } = opts;
  const prices = opts.prices ?? DEFAULT_PRICES;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const streams =
    opts.streams ??
    new LiveSlots({
      max: 1000,
      setting: 'SSE_MAX_STREAMS',
      what: 'live streams',
      code: 'too_many_streams',
      retryAfterSeconds: Math.max(1, Math.round(heartbeatMs / 1000)),
    });
  const logger = opts.logger ?? silentLogger;
  const router = new Router();

  router.get('/conversation/:id/events', async (ctx) => {
    const id = ctx.params.id!;
    if (!CONVERSATION_ID.test(id)) throw new NotFoundError(id);
    // Each stream holds a socket and a listener until its conversation ends: bound them (one
    // pool for every kind of stream).
    const release = streams.take(ctx, 'conversation', `poll GET /conversation/${id}`);

    // Subscribe before reading the snapshot so nothing recorded in between is lost; events
    // are handled in order, one at a time, after the snapshot is out.
    let chain: Promise<void> = Promise.resolve();
    let ready!: () => void;
    const snapshotSent = new Promise<void>((r) => (ready = r));
    const off = hub.subscribe(id, (ev) => {
      chain = chain
        .then(() => snapshotSent)
        .then(() => onEvent(ev))
        .catch((err: Error) => {
          logger.warn({ conversationId: id, err: err.message }, 'SSE update failed; the next heartbeat catches up');
        });
    });

    let record: ConversationRecord;
    let turns: TurnRecord[];
    try {
      const loaded = await store.getConversation(id);
      // Another caller's conversation answers like a missing one (docs/callers.md).
      if (!loaded || !canSee(callerOf(ctx), loaded.record.owner)) throw new NotFoundError(id);
      ({ record, turns } = loaded);
    } catch (err) {
      off();
      release();
      throw err;
    }

    const stream = new PassThrough();
    const sent = new Set<string>();
    let lastStatus = record.status;
    let ended = false;
    // Nothing is written once the client is gone (a write to the destroyed stream is an error).
    const write = (event: string, data: unknown) => {
      if (stream.destroyed || stream.writableEnded) return;
      if (!ended || event === 'end') stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };

    const finish = () => {
      if (!stream.writableEnded) stream.end();
    };
    const onShutdown = () => finish();
    const cleanup = () => {
      clearInterval(heartbeat);
      opts.signal?.removeEventListener('abort', onShutdown);
      off();
      release();
    };

    async function sendEnd(): Promise<void> {
      if (ended) return;
      const loaded = await store.getConversation(id);
      if (!loaded) return;
      const { record: rec, turns: all } = loaded;
      await catchUp(all);
      ended = true;
      const end: EndEventData = {
        conversationId: id,
        status: rec.status,
        stopReason: rec.stopReason ?? null,
        error: rec.error ?? null,
        transcriptUrl: `/conversation/${id}/transcript`,
        view: toView(rec, all, prices),
      };
      write('end', end);
      finish();
    }

    async function catchUp(all: TurnRecord[]): Promise<void> {
      for (const t of all) {
        for (const side of ['cloud', 'local'] as const) {
          const step = t[side];
          if (step && !sent.has(`${side}:${t.turn}`)) {
            sent.add(`${side}:${t.turn}`);
            write(side, stepData(id, side, t.turn, step, prices));
          }
        }
      }
    }

    async function onEvent(ev: ConversationEvent): Promise<void> {
      if (ended) return;
      if (ev.type === 'status') {
        if (isTerminal(ev.status)) return sendEnd();
        if (ev.status !== lastStatus) {
          lastStatus = ev.status;
          write('status', { conversationId: id, status: ev.status });
        }
        return;
      }
      const key = `${ev.type}:${ev.turn}`;
      if (sent.has(key)) return;
      const step = ev.type === 'cloud' ? await store.getStep(record, 'cloud', ev.turn) : await store.getStep(record, 'local', ev.turn);
      if (!step || sent.has(key)) return;
      sent.add(key);
      write(ev.type, stepData(id, ev.type, ev.turn, step, prices));
    }

    async function resync(): Promise<void> {
      const loaded = await store.getConversation(id);
      if (!loaded || ended) return;
      const rec = loaded.record;
      if (isTerminal(rec.status)) return sendEnd();
      await catchUp(loaded.turns);
      if (rec.status !== lastStatus) {
        lastStatus = rec.status;
        write('status', { conversationId: id, status: rec.status });
      }
    }

    const heartbeat = setInterval(() => {
      if (ended || stream.destroyed || stream.writableEnded) return;
      stream.write(`: ping ${new Date().toISOString()}\n\n`);
      chain = chain.then(resync).catch((err: Error) => logger.warn({ conversationId: id, err: err.message }, 'SSE resync failed'));
    }, heartbeatMs);
    heartbeat.unref();
    opts.signal?.addEventListener('abort', onShutdown, { once: true });
    ctx.res.once('close', cleanup);
    stream.once('close', cleanup);

    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.req.socket.setKeepAlive(true);
    ctx.status = 200;
    ctx.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    ctx.body = stream;

    stream.write('retry: 3000\n\n');
    for (const t of turns) {
      if (t.cloud) sent.add(`cloud:${t.turn}`);
      if (t.local) sent.add(`local:${t.turn}`);
    }
    write('snapshot', toView(record, turns, prices));
    if (isTerminal(record.status)) {
      chain = chain.then(sendEnd).catch(() => finish());
    }
    if (opts.signal?.aborted) finish();
    ready();
  });

  return router;
}
