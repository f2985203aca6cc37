/**
 * Aborts in-flight provider calls when their conversation ends elsewhere (DELETE on any producer
 * host, a deadline, a failure on another step). Listens to the store's event channel, so one
 * subscriber per worker process serves every job it runs.
 */
import type { Redis } from 'ioredis';
import { isTerminal, type ConversationEvent } from '../shared/conversation-store';

export interface Registration {
  signal: AbortSignal;
  release(): void;
}

export class CancelRegistry {
  private readonly active = new Map<string, Set<AbortController>>();
  private subscriber?: Redis;

  /** Starts listening on `channel` with a dedicated (subscriber-mode) connection. */
  async listen(subscriber: Redis, channel: string): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on('message', (_ch: string, message: string) => {
      let ev: ConversationEvent;
      try {
        ev = JSON.parse(message) as ConversationEvent;
      } catch {
        return;
      }
      if (ev.type === 'status' && isTerminal(ev.status)) this.abort(ev.conversationId, `conversation ${ev.status}`);
    });
    await subscriber.subscribe(channel);
  }

  register(conversationId: string): Registration {
    const ctrl = new AbortController();
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

  abort(conversationId: string, reason: string): void {
    for (const ctrl of this.active.get(conversationId) ?? []) ctrl.abort(new Error(reason));
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
  }
}
