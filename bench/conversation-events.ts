/**
 * Watches the conversation store's event channel (`<prefix>:events`) with its own subscriber
 * connection: counts recorded turns (a `local` event ends a turn) and terminal conversations, and
 * lets the benchmark wait for a conversation, or for N of them, to finish. Works across processes,
 * so the same counter serves the in-process pipeline and the worker processes of the scaling run.
 */
import type { Redis } from 'ioredis';
import { isTerminal, type ConversationEvent } from '../conversation/model';
import { subscribeAll } from '../coordination/subscribe';

export class ConversationEvents {
  /** Turns recorded since start (local step events). */
  turns = 0;
  /** Conversations that reached a terminal state, by status. */
  readonly terminal = new Map<string, number>();
  private finished = new Set<string>();
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(private readonly sub: Redis) {}

  /** Subscribes `sub` (a dedicated connection, closed by {@link close}) to `channel` (or each shard's, `sharded`: SSUBSCRIBE). */
  static async listen(sub: Redis, channel: string | string[], sharded = false): Promise<ConversationEvents> {
    const ev = new ConversationEvents(sub);
    sub.on(sharded ? 'smessage' : 'message', (_ch: string, msg: string) => ev.onMessage(msg));
    await subscribeAll(sub, typeof channel === 'string' ? [channel] : channel, sharded);
    return ev;
  }

  get finishedCount(): number {
    return this.finished.size;
  }

  private onMessage(msg: string): void {
    const e = JSON.parse(msg) as ConversationEvent;
    if (e.type === 'local') this.turns++;
    else if (e.type === 'status' && isTerminal(e.status) && !this.finished.has(e.conversationId)) {
      this.finished.add(e.conversationId);
      this.terminal.set(e.status, (this.terminal.get(e.status) ?? 0) + 1);
    }
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves when `check()` holds (checked on every event), or rejects after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ check, resolve: done });
    });
  }

  /** Resolves when conversation `id` is terminal. */
  finishedOne(id: string, timeoutMs = 30_000): Promise<void> {
    return this.until(() => this.finished.has(id), timeoutMs, `conversation ${id}`);
  }

  close(): void {
    this.sub.disconnect();
  }
}
