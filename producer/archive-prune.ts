/**
 * The archive's retention is the user's (issue 25; docs/archive.md): `DELETE /archive?before=<date>`
 * and `?run=<id>` (`llmconv prune`) remove finished conversations from the archive and their
 * transcript files from this producer's OUTPUT_DIR together. A transcript path outside OUTPUT_DIR
 * (another host wrote it) is left, and counted.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { PruneView } from '../api/http-contract';
import { PipelineError, ValidationError } from '../shared/errors';
import type { ArchiveStore } from '../store/interfaces/archive-store';

export interface PruneRequest {
  /** `before`: an ISO date or date-time; conversations finished before it go. */
  before?: string;
  /** `run`: every archived conversation of this run goes. */
  run?: string;
}

/** `before` as ms since the epoch: a 400 naming the parameter for anything Date cannot read. */
export function pruneBefore(before: string): number {
  // A date alone (2026-12-01) or a date-time with a zone; Date.parse reads both as ISO 8601.
  if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(before) || Number.isNaN(Date.parse(before)))
    throw new ValidationError(`before must be an ISO date like 2026-12-01 or 2026-12-01T00:00:00Z, got "${before.slice(0, 40)}"`);
  return Date.parse(before);
}

export async function pruneArchive(archive: ArchiveStore | undefined, outputDir: string, req: PruneRequest): Promise<PruneView> {
  if (!archive)
    throw new PipelineError('this producer has no archive (ARCHIVE_URL=off): there is nothing to prune', {
      code: 'no_archive',
      status: 409,
    });
  if (req.before === undefined && req.run === undefined)
    throw new ValidationError('prune needs before=<date> (conversations finished before it) or run=<id> (one run), or both');
  const beforeMs = req.before === undefined ? undefined : pruneBefore(req.before);
  const removed = await archive.prune({
    ...(beforeMs !== undefined ? { beforeMs } : {}),
    ...(req.run !== undefined ? { runId: req.run } : {}),
  });
  const root = path.resolve(outputDir) + path.sep;
  let transcriptsRemoved = 0;
  let transcriptsLeft = 0;
  for (const r of removed) {
    if (!r.transcriptPath) continue;
    const file = path.resolve(r.transcriptPath);
    if (!file.startsWith(root)) {
      transcriptsLeft++;
      continue;
    }
    try {
      await fs.unlink(file);
      transcriptsRemoved++;
    } catch {
      transcriptsLeft++;
    }
  }
  return { removed: removed.length, transcriptsRemoved, transcriptsLeft };
}
