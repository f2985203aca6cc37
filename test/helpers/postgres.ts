/**
 * A schema of its own on the real PostgreSQL at 127.0.0.1:5432 (database `test`, trust auth;
 * `.ci/run` makes sure one answers; PG_TEST_URL overrides the server), dropped after: each test
 * file's archive is `archive_<random>`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_TEST_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  schema: string;
  /** ARCHIVE_URL for this schema. */
  url: string;
  /** A client of the test's own (e.g. to hold a lock), ended by `drop()`. */
  client(): Promise<pg.Client>;
  drop(): Promise<void>;
}

export async function createTestSchema(): Promise<TestSchema> {
  const schema = `archive_${randomBytes(6).toString('hex')}`;
  const clients: pg.Client[] = [];
  const client = async () => {
    const c = new pg.Client({ connectionString: PG_TEST_URL });
    c.on('error', () => {});
    await c.connect();
    await c.query(`SET search_path TO ${schema}`);
    clients.push(c);
    return c;
  };
  const admin = await client();
  await admin.query(`CREATE SCHEMA ${schema}`);
  return {
    schema,
    url: `${PG_TEST_URL}?schema=${schema}`,
    client,
    async drop() {
      // The test's own clients first: one may hold a lock the DROP would wait on.
      await Promise.all(clients.filter((c) => c !== admin).map((c) => c.end().catch(() => {})));
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end().catch(() => {});
    },
  };
}
