/**
 * Near-duplicate control of a run's finished conversations: the dialogue's MinHash signature
 * (shared/minhash.ts) is registered with the run (store/run-store.ts `registerSignature`), the
 * earlier conversations sharing an LSH band are compared by their stored signatures, and one at
 * or above DEDUP_THRESHOLD flags this conversation (`nearDuplicateOf` on its record, written
 * once). Exports leave flagged conversations out with `filter=dedup`. Run by the transcript step
 * before the conversation's end is complete; a re-run finds the same and writes nothing new.
 */
import type { ConversationRecord, TurnRecord } from '../conversation/model';
import { bandKeys, signature, signatureBytes, signatureFromBytes, similarity } from '../shared/minhash';
import type { ConversationStore, RunStore } from '../store/interfaces';

/** The text a conversation is compared by: every question, answer and follow-up, in turn order. */
export function conversationDedupText(turns: TurnRecord[]): string {
  const parts: string[] = [];
  for (const t of [...turns].sort((a, b) => a.turn - b.turn)) {
    if (t.cloud) parts.push(t.cloud.question, t.cloud.answer);
    if (t.local) parts.push(t.local.followUp);
  }
  return parts.join('\n');
}

export interface ConversationDedupDeps {
  store: Pick<ConversationStore, 'setNearDuplicate'>;
  runs: Pick<RunStore, 'registerSignature' | 'signatures' | 'countNearDuplicate'>;
  threshold: number;
  /** How long the run's signatures are kept (RETENTION_SECONDS, as the records). */
  ttlSeconds: number;
}

/** Flags `record` when it near-duplicates an earlier conversation of its run; answers what it found. */
export async function flagNearDuplicate(
  deps: ConversationDedupDeps,
  record: Pick<ConversationRecord, 'id' | 'settings'>,
  turns: TurnRecord[],
): Promise<{ id: string; similarity: number } | undefined> {
  const runId = record.settings.run?.id;
  if (!runId || !turns.some((t) => t.cloud)) return undefined;
  const sig = signature(conversationDedupText(turns));
  const candidates = await deps.runs.registerSignature(runId, record.id, bandKeys(sig), signatureBytes(sig), deps.ttlSeconds);
  if (!candidates.length) return undefined;
  const stored = await deps.runs.signatures(runId, candidates);
  let best: { id: string; similarity: number } | undefined;
  for (const [i, bytes] of stored.entries()) {
    const other = bytes ? signatureFromBytes(bytes) : undefined;
    if (!other) continue;
    const s = similarity(sig, other);
    if (s >= deps.threshold && (!best || s > best.similarity)) best = { id: candidates[i]!, similarity: s };
  }
  // Flagged and counted once: a re-run finds the flag set.
  if (best && (await deps.store.setNearDuplicate(record.id, best.id, best.similarity))) await deps.runs.countNearDuplicate(runId);
  return best;
}
