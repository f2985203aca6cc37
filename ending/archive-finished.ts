/**
 * A finished conversation into the archive (issue 25; docs/archive.md): the record (settings, run
 * and seed provenance, transcript path), every turn (models, tokens, cache use, stop reason; the
 * cost follows from them and the price table), the judgement when there is one, and its forks. Called by the
 * ending once the transcript is written and the conversation is terminal, by the judge step with
 * its scores, and by the reconciler for what a crash left in `<p>:unarchived`.
 *
 * Exactly once: finish.lua puts the conversation in `<p>:unarchived` in the same step as its
 * transition; the archive's write is an upsert keyed by the conversation id (a repeat rewrites the
 * same row); only after it does the conversation leave `<p>:unarchived` and its Redis keys get
 * their short REDIS_RETENTION_SECONDS. A crash between the two leaves it in the set, and the
 * reconciler's sweep writes it (the same row) and clears it.
 */
import { isTerminal } from '../conversation/model';
import type { ConversationStore } from '../store/conversation-store';
import type { ArchiveStore } from '../store/interfaces/archive-store';
import type { Judgement } from '../store/interfaces/judge-store';

export interface ArchiveFinishedDeps {
  store: ConversationStore;
  archive: ArchiveStore;
  /** The judgement of a conversation, and its key (which follows the conversation out of Redis). */
  judges?: { get(id: string): Promise<Judgement | null>; keyOf(id: string): string };
}

/** What {@link archiveFinished} did: wrote it, found it still live (not terminal), or found no record in Redis. */
export type ArchiveOutcome = 'archived' | 'live' | 'gone';

/** Writes finished conversation `id` from Redis to the archive, then lets Redis drop it. */
export async function archiveFinished(deps: ArchiveFinishedDeps, id: string): Promise<ArchiveOutcome> {
  const { store, archive, judges } = deps;
  const loaded = await store.getConversation(id);
  if (!loaded) {
    // Expired before anyone archived it (an archive down for longer than RETENTION_SECONDS): nothing to write.
    await store.archived(id);
    return 'gone';
  }
  if (!isTerminal(loaded.record.status)) return 'live';
  const judgement = (await judges?.get(id)) ?? undefined;
  // Its forks so far (the record is in Redis, so Redis's list); a fork made later adds itself when archived.
  const forks = await store.forks(id);
  await archive.write({ ...loaded, ...(judgement ? { judgement } : {}), ...(forks.length ? { forks } : {}) });
  await store.archived(id, judges ? [judges.keyOf(id)] : []);
  return 'archived';
}
