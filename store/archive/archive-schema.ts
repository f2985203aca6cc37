/**
 * The archive's tables, created and migrated by the project: `archive_schema_version` holds the
 * version applied; each migration below runs once, in order, in a transaction with the version's
 * bump. PostgreSQL keeps the record and turns as `json` (the text as written, key order kept, so
 * an export from the archive is byte-identical to one from Redis) and the judgement as `jsonb`;
 * SQLite keeps text. Indexes serve the reads: by id (the key), by run and status, by finish time.
 * Migration 2: `archive_forks`, one row per (parent, fork) link, so a `format=dpo` export of an
 * archived family finds its branches (written by the parent's archiving and by each fork's own).
 * Migration 3: `archive_runs`, one row per finished run (issue 25 part 4): its state as read from
 * the run hash (settings, counters, judge summary, budget used), its conversation ids in admission
 * order and its rejected lines, indexed by `(created_at, id)` for a newest-first listing with a cursor.
 */
import type { SqlDriver } from './sql-driver';

type Dialect = SqlDriver['dialect'];

const json = (d: Dialect) => (d === 'postgres' ? 'json' : 'text');
const jsonb = (d: Dialect) => (d === 'postgres' ? 'jsonb' : 'text');

/** Migration n (1-based) for a dialect. Append only: an applied one never changes. */
export const MIGRATIONS: ((d: Dialect) => string[])[] = [
  (d) => [
    `CREATE TABLE IF NOT EXISTS archive_conversations (
      id text PRIMARY KEY,
      run_id text,
      status text NOT NULL,
      stop_reason text,
      owner text,
      created_at bigint NOT NULL,
      finished_at bigint NOT NULL,
      transcript_path text,
      record ${json(d)} NOT NULL,
      turns ${json(d)} NOT NULL,
      judgement ${jsonb(d)},
      archived_at bigint NOT NULL
    )`,
    'CREATE INDEX IF NOT EXISTS archive_conversations_run ON archive_conversations (run_id, status, id)',
    'CREATE INDEX IF NOT EXISTS archive_conversations_finished ON archive_conversations (finished_at)',
  ],
  () => [
    `CREATE TABLE IF NOT EXISTS archive_forks (
      parent_id text NOT NULL,
      fork_id text NOT NULL,
      at_turn integer NOT NULL,
      PRIMARY KEY (parent_id, fork_id)
    )`,
    'CREATE INDEX IF NOT EXISTS archive_forks_fork ON archive_forks (fork_id)',
  ],
  (d) => [
    `CREATE TABLE IF NOT EXISTS archive_runs (
      id text PRIMARY KEY,
      owner text,
      created_at bigint NOT NULL,
      state ${json(d)} NOT NULL,
      conversations ${json(d)} NOT NULL,
      rejected ${json(d)} NOT NULL,
      archived_at bigint NOT NULL
    )`,
    'CREATE INDEX IF NOT EXISTS archive_runs_created ON archive_runs (created_at, id)',
  ],
];

/** Brings the database to the latest version; answers how many migrations it applied (concurrent starts: PostgreSQL serialises them on an advisory lock). */
export async function migrate(db: SqlDriver): Promise<number> {
  await db.exec('CREATE TABLE IF NOT EXISTS archive_schema_version (version integer NOT NULL)');
  return db.transaction(async (tx) => {
    // 25 (the number): any fixed key shared by every process of the fleet.
    if (db.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(25)');
    const rows = await tx.query<{ version: number | string }>('SELECT version FROM archive_schema_version');
    let version = rows.length ? Number(rows[0]!.version) : 0;
    if (!rows.length) await tx.query('INSERT INTO archive_schema_version (version) VALUES (0)');
    if (version > MIGRATIONS.length)
      throw new Error(
        `ARCHIVE_URL: the archive's schema is version ${version}, newer than this build's ${MIGRATIONS.length}; upgrade llmconv or point ARCHIVE_URL elsewhere`,
      );
    const from = version;
    for (; version < MIGRATIONS.length; version++) {
      for (const sql of MIGRATIONS[version]!(db.dialect)) await tx.query(sql);
      await tx.query('UPDATE archive_schema_version SET version = $1', [version + 1]);
    }
    return version - from;
  });
}
