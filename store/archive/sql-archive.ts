/**
 * The archive (store/interfaces/archive-store.ts) in SQL, one class over two drivers:
 * PostgreSQL (`pg`, a fleet) and SQLite (node-sqlite3-wasm, the embedded default). One row per
 * conversation keyed by its id: a write is an upsert, so the transcript step run twice, or the
 * reconciler repairing a crash, rewrites the same row and never adds one. A conversation's fork
 * links (`archive_forks`) are added, never replaced: by its own write (the forks Redis knew) and by
 * each fork's (its record names its parent), so whichever is written last, the list is whole.
 * A finished run is one row of `archive_runs`, an upsert keyed by its id too; deleting a run
 * (`prune` by run) removes it with its conversations.
 */
import type { ConversationRecord, TurnRecord } from '../../conversation/model';
import type {
  ArchivedConversation,
  ArchivedFork,
  ArchivedRun,
  ArchivedRunPage,
  ArchivePage,
  ArchiveStore,
} from '../interfaces/archive-store';
import type { RejectedLine, RunState } from '../interfaces/run-store';
import type { Judgement } from '../interfaces/judge-store';
import { migrate } from './archive-schema';
import type { SqlDriver } from './sql-driver';

interface Row extends Record<string, unknown> {
  record: string | ConversationRecord;
  turns: string | TurnRecord[];
  judgement: string | Judgement | null;
}

/** pg parses json/jsonb columns itself; SQLite answers the text. */
const parsed = <T>(v: string | T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

function fromRow(row: Row): ArchivedConversation {
  const judgement = row.judgement === null ? undefined : parsed<Judgement>(row.judgement);
  return { record: parsed(row.record), turns: parsed(row.turns), ...(judgement ? { judgement } : {}) };
}

const UPSERT = `INSERT INTO archive_conversations
  (id, run_id, status, stop_reason, owner, created_at, finished_at, transcript_path, record, turns, judgement, archived_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
  ON CONFLICT (id) DO UPDATE SET
    run_id = excluded.run_id, status = excluded.status, stop_reason = excluded.stop_reason, owner = excluded.owner,
    created_at = excluded.created_at, finished_at = excluded.finished_at, transcript_path = excluded.transcript_path,
    record = excluded.record, turns = excluded.turns, judgement = COALESCE(excluded.judgement, archive_conversations.judgement),
    archived_at = excluded.archived_at`;

const FORK_LINKS_PER_STATEMENT = 300;

const UPSERT_RUN = `INSERT INTO archive_runs (id, owner, created_at, state, conversations, rejected, archived_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (id) DO UPDATE SET
    owner = excluded.owner, created_at = excluded.created_at, state = excluded.state,
    conversations = excluded.conversations, rejected = excluded.rejected, archived_at = excluded.archived_at`;

interface RunRow extends Record<string, unknown> {
  state: string | RunState;
  conversations: string | string[];
  rejected: string | RejectedLine[];
  archived_at: number | string;
}

/** A run-list cursor: `<createdAt>:<id>` of the last run of a page (split at the first `:`, after the number). */
function parseRunCursor(before: string): { createdAt: number; id: string } {
  const colon = before.indexOf(':');
  const createdAt = Number(before.slice(0, colon));
  if (colon < 1 || !Number.isSafeInteger(createdAt)) throw new Error(`bad run cursor: ${JSON.stringify(before)}`);
  return { createdAt, id: before.slice(colon + 1) };
}

/** The (parent, fork) links a write adds: the conversation's own forks, and itself as its parent's fork. */
function forkLinks({ record, forks }: ArchivedConversation): [string, string, number][] {
  const links: [string, string, number][] = (forks ?? []).map((f) => [record.id, f.id, f.atTurn]);
  const parent = record.settings.fork;
  if (parent) links.push([parent.parentId, record.id, parent.atTurn]);
  return links;
}

export class SqlArchive implements ArchiveStore {
  private constructor(readonly db: SqlDriver) {}

  /** The archive on `db`, its schema brought to this build's version. */
  static async open(db: SqlDriver): Promise<SqlArchive> {
    await migrate(db);
    return new SqlArchive(db);
  }

  async write(conv: ArchivedConversation): Promise<void> {
    const { record, turns, judgement } = conv;
    const row = [
      record.id,
      record.settings.run?.id ?? null,
      record.status,
      record.stopReason ?? null,
      record.owner ?? null,
      record.createdAt,
      record.finishedAt ?? record.updatedAt,
      record.transcriptPath ?? null,
      JSON.stringify(record),
      JSON.stringify(turns),
      judgement === undefined ? null : JSON.stringify(judgement),
      Date.now(),
    ];
    const links = forkLinks(conv);
    if (links.length === 0) {
      await this.db.query(UPSERT, row);
      return;
    }
    await this.db.transaction(async (tx) => {
      await tx.query(UPSERT, row);
      for (let i = 0; i < links.length; i += FORK_LINKS_PER_STATEMENT) {
        const part = links.slice(i, i + FORK_LINKS_PER_STATEMENT);
        const values = part.map((_, k) => `($${3 * k + 1}, $${3 * k + 2}, $${3 * k + 3})`).join(', ');
        await tx.query(
          `INSERT INTO archive_forks (parent_id, fork_id, at_turn) VALUES ${values} ON CONFLICT (parent_id, fork_id) DO NOTHING`,
          part.flat(),
        );
      }
    });
  }

  async forks(parentId: string): Promise<ArchivedFork[]> {
    // Redis's order for the forks zset: by score, then by member bytes (COLLATE "C" in PostgreSQL; SQLite's default is binary).
    const order = this.db.dialect === 'postgres' ? 'at_turn, fork_id COLLATE "C"' : 'at_turn, fork_id';
    const rows = await this.db.query<{ fork_id: string; at_turn: number | string }>(
      `SELECT fork_id, at_turn FROM archive_forks WHERE parent_id = $1 ORDER BY ${order}`,
      [parentId],
    );
    return rows.map((r) => ({ id: r.fork_id, atTurn: Number(r.at_turn) }));
  }

  async get(id: string): Promise<ArchivedConversation | null> {
    const rows = await this.db.query<Row>('SELECT record, turns, judgement FROM archive_conversations WHERE id = $1', [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async getMany(ids: string[]): Promise<Map<string, ArchivedConversation>> {
    const out = new Map<string, ArchivedConversation>();
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const marks = part.map((_, k) => `$${k + 1}`).join(', ');
      const rows = await this.db.query<Row & { id: string }>(
        `SELECT id, record, turns, judgement FROM archive_conversations WHERE id IN (${marks})`,
        part,
      );
      for (const row of rows) out.set(row.id, fromRow(row));
    }
    return out;
  }

  async has(ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    // 500 a statement: well under either server's parameter limit.
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const marks = part.map((_, k) => `$${k + 1}`).join(', ');
      for (const r of await this.db.query<{ id: string }>(`SELECT id FROM archive_conversations WHERE id IN (${marks})`, part))
        found.add(r.id);
    }
    return found;
  }

  async runPage(runId: string, after: string | undefined, limit: number): Promise<ArchivePage> {
    const rows = await this.db.query<{ id: string }>(
      'SELECT id FROM archive_conversations WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3',
      [runId, after ?? '', limit],
    );
    const ids = rows.map((r) => r.id);
    return ids.length === limit ? { ids, next: ids[ids.length - 1] } : { ids };
  }

  async count(runId?: string): Promise<number> {
    const rows =
      runId === undefined
        ? await this.db.query<{ n: number | string }>('SELECT count(*) AS n FROM archive_conversations')
        : await this.db.query<{ n: number | string }>('SELECT count(*) AS n FROM archive_conversations WHERE run_id = $1', [runId]);
    return Number(rows[0]?.n ?? 0);
  }

  async prune(opts: { beforeMs?: number; runId?: string }): Promise<{ id: string; transcriptPath?: string }[]> {
    if (opts.beforeMs === undefined && opts.runId === undefined) throw new Error('prune needs a date (--before) or a run');
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (opts.beforeMs !== undefined) where.push(`finished_at < $${params.push(opts.beforeMs)}`);
    if (opts.runId !== undefined) where.push(`run_id = $${params.push(opts.runId)}`);
    const cond = where.join(' AND ');
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; transcript_path: string | null }>(
        `SELECT id, transcript_path FROM archive_conversations WHERE ${cond}`,
        params,
      );
      const removed = `SELECT id FROM archive_conversations WHERE ${cond}`;
      await tx.query(`DELETE FROM archive_forks WHERE parent_id IN (${removed}) OR fork_id IN (${removed})`, params);
      await tx.query(`DELETE FROM archive_conversations WHERE ${cond}`, params);
      // Deleting a run (prune by run alone) removes its own row too.
      if (opts.beforeMs === undefined) await tx.query('DELETE FROM archive_runs WHERE id = $1', [opts.runId!]);
      return rows.map((r) => (r.transcript_path === null ? { id: r.id } : { id: r.id, transcriptPath: r.transcript_path }));
    });
  }

  async writeRun({ state, conversations, rejected }: ArchivedRun): Promise<void> {
    await this.db.query(UPSERT_RUN, [
      state.id,
      state.owner ?? null,
      state.createdAt,
      JSON.stringify(state),
      JSON.stringify(conversations),
      JSON.stringify(rejected),
      Date.now(),
    ]);
  }

  async getRun(id: string): Promise<ArchivedRun | null> {
    const rows = await this.db.query<RunRow>('SELECT state, conversations, rejected, archived_at FROM archive_runs WHERE id = $1', [id]);
    const row = rows[0];
    if (!row) return null;
    // The state as written, and when it was archived (the row's write).
    const state = { ...parsed(row.state), archived: Number(row.archived_at) };
    return { state, conversations: parsed(row.conversations), rejected: parsed(row.rejected) };
  }

  async runIds(opts: { limit: number; owner?: string; before?: string }): Promise<ArchivedRunPage> {
    // Redis's order for the `<p>:runs` zset read newest first: by score, then by member bytes, both descending.
    const id = this.db.dialect === 'postgres' ? 'id COLLATE "C"' : 'id';
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (opts.owner !== undefined) where.push(`owner = $${params.push(opts.owner)}`);
    if (opts.before !== undefined) {
      const c = parseRunCursor(opts.before);
      const at = `$${params.push(c.createdAt)}`;
      where.push(`(created_at < ${at} OR (created_at = ${at} AND ${id} < $${params.push(c.id)}))`);
    }
    const rows = await this.db.query<{ id: string; created_at: number | string }>(
      `SELECT id, created_at FROM archive_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, ${id} DESC LIMIT $${params.push(opts.limit)}`,
      params,
    );
    const ids = rows.map((r) => r.id);
    const createdAt = rows.map((r) => Number(r.created_at));
    const last = rows[rows.length - 1];
    return last && rows.length === opts.limit ? { ids, createdAt, next: `${Number(last.created_at)}:${last.id}` } : { ids, createdAt };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
