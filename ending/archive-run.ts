/**
 * A finished run into the archive (issue 25 part 4; docs/archive.md): its state as read from its
 * hash (settings, counters, judge summary, budget used), its conversations in admission order and
 * its rejected lines; then its Redis keys expire after REDIS_RETENTION_SECONDS and reads fall
 * through to the archive (store/run-store.ts).
 *
 * Finished means: no seed waiting or being admitted, no conversation in flight, and none of its
 * conversations still in `<p>:unarchived`. The ending notes the run in `<p>:runs-unarchived`
 * before its conversation's archive write and tries this after it; the reconciler retries what a
 * crash left there. The write is an upsert keyed by the run id; the last step (run/archived.lua)
 * checks again for live work in the same step as the keys' expiry, so a run that got seeds in
 * between stays live (its row is written again when it finishes).
 */
import type { ConversationStore } from '../store/conversation-store';
import type { ArchiveStore } from '../store/interfaces/archive-store';
import type { RunStore } from '../store/run-store';

export interface ArchiveRunDeps {
  runs: RunStore;
  store: Pick<ConversationStore, 'anyUnarchived' | 'archivedRetention'>;
  archive: Pick<ArchiveStore, 'writeRun'>;
}

/** What {@link archiveRun} did: wrote it, found it live (still noted), or found no run in Redis. */
export type RunArchiveOutcome = 'archived' | 'live' | 'gone';

export async function archiveRun(deps: ArchiveRunDeps, runId: string): Promise<RunArchiveOutcome> {
  const { runs, store, archive } = deps;
  const run = await runs.finishedRun(runId);
  if (run === null) {
    await runs.forgetArchive(runId);
    return 'gone';
  }
  if (run === 'live' || (await store.anyUnarchived(run.conversations))) {
    // Kept noted (moved to the back): the next conversation of it to finish, or a later sweep, tries again.
    await runs.archiveLater(runId);
    return 'live';
  }
  await archive.writeRun(run);
  if (await runs.archived(runId, store.archivedRetention)) return 'archived';
  await runs.archiveLater(runId);
  return 'live';
}
