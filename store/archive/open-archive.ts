/**
 * The archive of ARCHIVE_URL (parsed by shared/config/parsers.ts `archiveTarget`): PostgreSQL,
 * SQLite, or none.
 */
import type { ArchiveTarget } from '../../shared/config';
import { openPgDriver } from './pg-driver';
import { SqlArchive } from './sql-archive';
import { openSqliteDriver } from './sqlite-driver';

/** Opens (and migrates) the archive of `target`; undefined for `off`. */
export async function openArchive(target: ArchiveTarget): Promise<SqlArchive | undefined> {
  if (target.kind === 'off') return undefined;
  const db = target.kind === 'postgres' ? await openPgDriver({ connectionString: target.url }) : await openSqliteDriver(target.file);
  try {
    return await SqlArchive.open(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}
