/**
 * The little the archive asks of a SQL database, so one class (sql-archive.ts) runs on both:
 * parameters are written `$1`, `$2`… (PostgreSQL's form; SQLite reads `$1` as a named parameter
 * bound in order of first appearance, which is the same thing for statements that name them in
 * order), and rows come back as plain objects.
 */
export type SqlValue = string | number | null;

export interface SqlDriver {
  readonly dialect: 'postgres' | 'sqlite';
  /** Runs one or more statements without parameters (the migrations). */
  exec(sql: string): Promise<void>;
  /** One statement with parameters; its rows (none for a write). */
  query<R extends Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<R[]>;
  /** Runs `fn` in one transaction (BEGIN … COMMIT, ROLLBACK on a throw). */
  transaction<T>(fn: (tx: Pick<SqlDriver, 'query'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
