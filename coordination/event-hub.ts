/**
 * Fans the store's conversation events (`<prefix>:events`) out to in-process listeners, per
 * conversation. One dedicated subscriber connection per producer process serves every live
 * client (SSE stream, conversation page), however many there are.
 *
 * @example
 * const hub = new EventHub(duplicateConnection(redis), store.eventsChannel);
 * await hub.start();
 * const off = hub.subscribe(id, (ev) => console.log(ev));
 * off();
 * await hub.close();
 */
import type { Redis } from 'ioredis';
import type { ConversationEvent } from '../conversation/model';
import { subscribeAll } from './subscribe';

export type EventListener = (ev: ConversationEvent) => void;

export class EventHub {
  private readonly listeners = new Map<string, Set<EventListener>>();
  private started = false;
  private closed = false;

  /**
   * @param subscriber a connection of its own: it enters subscriber mode and serves nothing else.
   *   ioredis re-subscribes by itself after a reconnect.
   * @param channel the store's `eventsChannel`, or its `eventsChannels`.
   * @param sharded SSUBSCRIBE each channel (the store's `shardedEvents`).
   */
  constructor(
    private readonly subscriber: Redis,
    channel: string | string[],
    private readonly sharded = false,
  ) {
    this.channels = typeof channel === 'string' ? [channel] : channel;
  }

  /** The channels listened to. */
  readonly channels: string[];

  /** Subscribes to the channel; resolves once Redis confirmed it. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.subscriber.on(this.sharded ? 'smessage' : 'message', (ch: string, message: string) => {
      if (!this.channels.includes(ch)) return;
      let ev: ConversationEvent;
      try {
        ev = JSON.parse(message) as ConversationEvent;
      } catch {
        return;
      }
      for (const listener of [...(this.listeners.get(ev.conversationId) ?? [])]) {
        try {
          listener(ev);
        } catch {
          // One broken client must not starve the others.
        }
      }
    });
    // Errors are retried by ioredis; an 'error' listener keeps them from crashing the process.
    this.subscriber.on('error', () => undefined);
    await subscribeAll(this.subscriber, this.channels, this.sharded);
  }

  /** Calls `listener` for each event of `conversationId`; returns the unsubscribe function. */
  subscribe(conversationId: string, listener: EventListener): () => void {
    let set = this.listeners.get(conversationId);
    if (!set) this.listeners.set(conversationId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0 && this.listeners.get(conversationId) === set) this.listeners.delete(conversationId);
    };
  }

  /** Number of listeners (all conversations), for tests and diagnostics. */
  get size(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    try {
      await this.subscriber.quit();
    } catch {
      this.subscriber.disconnect();
    }
  }
}
