/**
 * Waiting for a conversation to end without polling: the wait listens on the process's
 * {@link EventHub} (the store publishes every terminal transition) and reads the record only when
 * an event says it ended, plus one re-read every `resyncMs` in case an event was lost while the
 * subscriber reconnected. Without a hub (an app built without the operator surface) it re-reads
 * every `resyncMs` only. The wait ends at the terminal state, at `timeoutMs`, or when `signal`
 * aborts (the client hung up); it never changes the conversation.
 *
 * @example
 * const record = await waitForTerminal({ store, hub }, id, 60_000, ac.signal);
 */
import { isTerminal, type ConversationRecord } from '../conversation/model';
import type { ConversationStore } from '../store/conversation-store';
import type { EventHub } from '../coordination/event-hub';

export interface TerminalWaitDeps {
  store: Pick<ConversationStore, 'get'>;
  hub?: Pick<EventHub, 'subscribe'>;
  /** Re-read interval, ms. Default 15000 with a hub, 1000 without. */
  resyncMs?: number;
}

/** Resolves with the record once terminal, or as it is at `timeoutMs` / abort; null when it is gone. */
export async function waitForTerminal(
  deps: TerminalWaitDeps,
  id: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ConversationRecord | null> {
  const { store, hub } = deps;
  const resyncMs = deps.resyncMs ?? (hub ? 15_000 : 1000);
  // One pending wake-up at most: an event while the record is being read is kept for the next turn.
  let wake: (() => void) | undefined;
  let woken = false;
  const next = () =>
    new Promise<void>((r) => {
      if (woken) {
        woken = false;
        return r();
      }
      wake = r;
    });
  const poke = () => {
    const w = wake;
    wake = undefined;
    if (w) w();
    else woken = true;
  };
  // Subscribe before the first read, so an end between the two is not missed.
  const off = hub?.subscribe(id, (ev) => {
    if (ev.type === 'status' && isTerminal(ev.status)) poke();
  });
  const resync = setInterval(poke, resyncMs);
  const deadline = setTimeout(poke, Math.max(0, timeoutMs));
  const end = Date.now() + timeoutMs;
  signal?.addEventListener('abort', poke, { once: true });
  try {
    for (;;) {
      const record = await store.get(id);
      if (!record || isTerminal(record.status) || Date.now() >= end || signal?.aborted) return record;
      await next();
    }
  } finally {
    off?.();
    clearInterval(resync);
    clearTimeout(deadline);
    signal?.removeEventListener('abort', poke);
  }
}
