/**
 * The archive's PostgreSQL driver: a `pg` Pool (node-postgres 8; pool and transaction use as in
 * https://node-postgres.com/features/transactions, read 2026-12-04: a transaction holds one
 * client from `pool.connect()` until it is released). `schema` puts the archive's tables in a
 * schema of their own (created if absent), set as the search_path of every connection.
 */
import pg from 'pg';
import type { SqlDriver, SqlValue } from './sql-driver';

export interface PgDriverOptions {
  connectionString: string;
  /** Schema for the tables (default: the server's search_path, usually `public`). */
  schema?: string;
  /** Connections at most (default 4). */
  max?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openPgDriver(opts: PgDriverOptions): Promise<SqlDriver> {
  const url = new URL(opts.connectionString);
  const schema = opts.schema ?? (url.searchParams.get('schema') || undefined);
  url.searchParams.delete('schema');
  if (schema !== undefined && !SCHEMA_NAME.test(schema))
    throw new Error(`ARCHIVE_URL: schema "${schema}" must be lower-case letters, digits and _ (it names a PostgreSQL schema)`);
  // The schema as every connection's search_path from its start (the `options` startup parameter).
  const pool = new pg.Pool({
    connectionString: url.toString(),
    max: opts.max ?? 4,
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  if (schema !== undefined) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const run = async <R>(client: pg.Pool | pg.PoolClient, sql: string, params?: SqlValue[]): Promise<R[]> =>
    (await client.query(sql, params)).rows as R[];
  const driver: SqlDriver = {
    dialect: 'postgres',
    async exec(sql) {
      await pool.query(sql);
    },
    query: (sql, params) => run(pool, sql, params),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn({ query: (sql, params) => run(client, sql, params) });
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
  return driver;
}
