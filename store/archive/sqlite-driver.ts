/**
 * The archive's SQLite driver: node-sqlite3-wasm (SQLite compiled to WebAssembly, no native
 * build; its API is synchronous: `new Database(path)`, `run`, `all`, `exec`, `close`, per its
 * README, read 2026-12-04). One process opens the file (the stack, whose data dir is locked:
 * stack/data-dir-lock.ts); a fleet uses PostgreSQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Database } from 'node-sqlite3-wasm';
import type { SqlDriver, SqlValue } from './sql-driver';

export async function openSqliteDriver(file: string): Promise<SqlDriver> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  // Serialises transactions: the calls are synchronous, but `fn` awaits between them.
  let chain: Promise<unknown> = Promise.resolve();
  const query = async <R>(sql: string, params?: SqlValue[]): Promise<R[]> => db.all(sql, params ?? []) as R[];
  return {
    dialect: 'sqlite',
    async exec(sql) {
      db.exec(sql);
    },
    query: async (sql, params) => {
      await chain.catch(() => {});
      return query(sql, params);
    },
    transaction<T>(fn: (tx: Pick<SqlDriver, 'query'>) => Promise<T>): Promise<T> {
      const next = chain
        .catch(() => {})
        .then(async () => {
          db.exec('BEGIN');
          try {
            const out = await fn({ query });
            db.exec('COMMIT');
            return out;
          } catch (err) {
            db.exec('ROLLBACK');
            throw err;
          }
        });
      chain = next;
      return next;
    },
    async close() {
      await chain.catch(() => {});
      db.close();
    },
  };
}
