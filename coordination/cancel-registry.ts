/**
 * Aborts in-flight provider calls when their conversation ends elsewhere (DELETE on any producer
 * host, a deadline, a failure on another step). Listens to the store's event channel, so one
 * subscriber per worker process serves every job it runs.
 */
import type { Redis } from 'ioredis';
import { subscribeAll } from './subscribe';
import { isTerminal, type ConversationEvent } from '../conversation/model';

const ENDED_MAX = 10_000;
const ENDED_TTL_MS = 10 * 60_000;

export interface Registration {
  signal: AbortSignal;
  release(): void;
}

export class CancelRegistry {
  private readonly active = new Map<string, Set<AbortController>>();
  /** Conversations seen ending recently: a call registered after the event is aborted at once. */
  private readonly ended = new Map<string, number>();
  private subscriber?: Redis;

  /**
   * Starts listening on `channel` (or each of several) with a dedicated (subscriber-mode)
   * connection; `sharded`: SSUBSCRIBE, one channel at a time (each shard's, docs/deploy.md).
   */
  async listen(subscriber: Redis, channel: string | string[], sharded = false): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on(sharded ? 'smessage' : 'message', (_ch: string, message: string) => {
      let ev: ConversationEvent;
      try {
        ev = JSON.parse(message) as ConversationEvent;
      } catch {
        return;
      }
      if (ev.type === 'status' && isTerminal(ev.status)) {
        this.remember(ev.conversationId);
        this.abort(ev.conversationId, `conversation ${ev.status}`);
      }
    });
    await subscribeAll(subscriber, typeof channel === 'string' ? [channel] : channel, sharded);
  }

  /**
   * A call's signal, aborted when the conversation ends. `createdAt`: the record's creation time;
   * an end seen before it belongs to an earlier record under the same id (a run's retried
   * conversation) and does not abort this one.
   */
  register(conversationId: string, createdAt = 0): Registration {
    const ctrl = new AbortController();
    // The end may have been announced between the step's status check and this call.
    const endedAt = this.ended.get(conversationId);
    if (endedAt !== undefined && endedAt >= createdAt) ctrl.abort(new Error('conversation ended'));
    let set = this.active.get(conversationId);
    if (!set) this.active.set(conversationId, (set = new Set()));
    set.add(ctrl);
    return {
      signal: ctrl.signal,
      release: () => {
        set!.delete(ctrl);
        if (set!.size === 0) this.active.delete(conversationId);
      },
    };
  }

  private remember(conversationId: string): void {
    this.ended.set(conversationId, Date.now());
    if (this.ended.size > ENDED_MAX) {
      const cutoff = Date.now() - ENDED_TTL_MS;
      for (const [id, at] of this.ended) if (at < cutoff || this.ended.size > ENDED_MAX) this.ended.delete(id);
    }
  }

  abort(conversationId: string, reason: string): void {
    for (const ctrl of this.active.get(conversationId) ?? []) ctrl.abort(new Error(reason));
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
  }
}
