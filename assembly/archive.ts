/**
 * The archive a process uses (ARCHIVE_URL, store/archive/): opened and migrated once at start,
 * its close registered with the process's shutdown. `off` or unset: none.
 */
import type { Config } from '../shared/config';
import { openArchive } from '../store/archive/open-archive';
import type { SqlArchive } from '../store/archive/sql-archive';
import type { Shutdown } from './shutdown';

/** Opens `config.archive` (undefined for none), closed by `stop`. */
export async function openConfiguredArchive(config: Pick<Config, 'archive'>, stop: Shutdown): Promise<SqlArchive | undefined> {
  if (!config.archive || config.archive.kind === 'off') return undefined;
  const archive = await openArchive(config.archive);
  if (archive) stop.add('archive', () => archive.close(), 3000);
  return archive;
}
