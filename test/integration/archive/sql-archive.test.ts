/**
 * The archive's SQL store on both real backends: PostgreSQL (its own schema on 127.0.0.1:5432)
 * and SQLite (a temp file). Migrations run once and again without change, a write is an upsert
 * keyed by id (one row however often), what comes back is what went in (the JSON text, key order
 * kept), a run's ids page with a cursor, fork links add up from the parent's write and each
 * fork's (in Redis's order), prune removes by date and by run; a finished run is one row (an
 * upsert), read back as written, listed newest first with a cursor (by owner too) and deleted with its run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConversationRecord, TurnRecord } from '../../../conversation/model';
import type { ArchivedRun } from '../../../store/interfaces/archive-store';
import { MIGRATIONS, migrate } from '../../../store/archive/archive-schema';
import { openPgDriver } from '../../../store/archive/pg-driver';
import { SqlArchive } from '../../../store/archive/sql-archive';
import type { SqlDriver } from '../../../store/archive/sql-driver';
import { openSqliteDriver } from '../../../store/archive/sqlite-driver';
import { createTestSchema, type TestSchema } from '../../helpers/postgres';

const conv = (id: string, run: string | undefined, finishedAt: number): { record: ConversationRecord; turns: TurnRecord[] } => ({
  record: {
    id,
    status: 'completed',
    stopReason: 'max_turns',
    createdAt: finishedAt - 1000,
    updatedAt: finishedAt,
    finishedAt,
    deadline: finishedAt + 60_000,
    transcriptPath: `/out/${id}.csv`,
    settings: { initialQuery: `Q ${id} "ünïcode" \u2028`, maxTurns: 1, ...(run ? { run: { id: run, seedHash: `h-${id}` } } : {}) },
  } as unknown as ConversationRecord,
  turns: [
    {
      turn: 1,
      cloud: { text: 'a\nb', model: 'm', inputTokens: 3, outputTokens: 4, latencyMs: 5, stopReason: 'end_turn', at: finishedAt } as never,
    },
  ],
});

const run = (id: string, createdAt: number, owner?: string): ArchivedRun => ({
  state: {
    id,
    name: `run "${id}" ü`,
    createdAt,
    updatedAt: createdAt + 5,
    maxActive: 4,
    state: 'active',
    seeds: 3,
    duplicates: 1,
    rejected: 1,
    admitted: 2,
    active: 0,
    unadmitted: 0,
    retried: 0,
    tokens: 42,
    byStatus: { completed: 2 },
    byStopReason: { max_turns: 2 },
    waiting: 0,
    budget: null,
    judge: null,
    ...(owner ? { owner } : {}),
    ids: 1,
    settings: { maxTurns: 2, initialQuery: 'x' },
  },
  conversations: [`${id}-c2`, `${id}-c1`],
  rejected: [{ line: 3, reason: 'not JSON' }],
});

for (const backend of ['postgres', 'sqlite'] as const) {
  describe(`SqlArchive on ${backend} (a real server / file)`, () => {
    let schema: TestSchema | undefined;
    let dir: string | undefined;
    let open: () => Promise<SqlDriver>;
    let archive: SqlArchive;

    before(async () => {
      if (backend === 'postgres') {
        schema = await createTestSchema();
        open = () => openPgDriver({ connectionString: schema!.url });
      } else {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-sqlite-'));
        open = () => openSqliteDriver(path.join(dir!, 'archive.sqlite'));
      }
      archive = await SqlArchive.open(await open());
    });
    after(async () => {
      await archive?.close();
      await schema?.drop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('migrates to the latest version once; a second start changes nothing', async () => {
      const db = await open();
      try {
        assert.equal(await migrate(db), 0, 'already at the latest version: no migration ran');
        const rows = await db.query<{ version: number }>('SELECT version FROM archive_schema_version');
        assert.deepEqual(
          rows.map((r) => Number(r.version)),
          [MIGRATIONS.length],
        );
      } finally {
        await db.close();
      }
    });

    it('a write is an upsert keyed by id: written three times, one row, the last version', async () => {
      const c = conv('c-1', 'run-a', 1_000_000);
      await archive.write(c);
      await archive.write(c);
      const changed = { ...c, record: { ...c.record, stopReason: 'stop_phrase' as const } };
      await archive.write({ ...changed, judgement: { status: 'scored', scores: { helpful: 4 }, model: 'j', attempts: 1, at: 7 } });
      assert.equal(await archive.count(), 1);
      const got = await archive.get('c-1');
      assert.equal(got!.record.stopReason, 'stop_phrase');
      assert.deepEqual(got!.judgement?.scores, { helpful: 4 });
      // A later write without a judgement keeps the one written.
      await archive.write(changed);
      assert.deepEqual((await archive.get('c-1'))!.judgement?.scores, { helpful: 4 });
    });

    it('answers the JSON it was given, byte for byte (key order, unicode, line separators)', async () => {
      const c = conv('c-2', 'run-a', 2_000_000);
      await archive.write(c);
      const got = await archive.get('c-2');
      assert.equal(JSON.stringify(got!.record), JSON.stringify(c.record));
      assert.equal(JSON.stringify(got!.turns), JSON.stringify(c.turns));
      assert.equal(await archive.get('nope'), null);
    });

    it("pages a run's ids with a cursor", async () => {
      for (let i = 0; i < 7; i++) await archive.write(conv(`p-${i}`, 'run-page', 3_000_000 + i));
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await archive.runPage('run-page', after, 3);
        seen.push(...page.ids);
        pages++;
        if (!page.next) break;
        after = page.next;
      }
      assert.deepEqual(seen, ['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6']);
      assert.equal(pages, 3);
      assert.equal(await archive.count('run-page'), 7);
    });

    it('prunes by finish time and by run, answering the transcript paths', async () => {
      const before = await archive.count();
      const byDate = await archive.prune({ beforeMs: 3_000_003 });
      assert.deepEqual(byDate.map((r) => r.id).sort(), ['c-1', 'c-2', 'p-0', 'p-1', 'p-2']);
      assert.equal(byDate.find((r) => r.id === 'c-2')?.transcriptPath, '/out/c-2.csv');
      const byRun = await archive.prune({ runId: 'run-page' });
      assert.deepEqual(byRun.map((r) => r.id).sort(), ['p-3', 'p-4', 'p-5', 'p-6']);
      assert.equal(await archive.count(), before - 9);
      await assert.rejects(archive.prune({}), /--before/);
    });

    it("keeps a conversation's forks: the parent's list and each fork's own link add up, in Redis's order", async () => {
      const parent = conv('f-parent', 'run-forks', 4_000_000);
      const forkOf = (id: string, atTurn: number) => {
        const c = conv(id, undefined, 4_000_100);
        return { ...c, record: { ...c.record, settings: { ...c.record.settings, fork: { parentId: 'f-parent', atTurn } } } };
      };
      // Ids that order differently bytewise than in a language collation ("B" < "a", "-" before digits).
      await archive.write({
        ...parent,
        forks: [
          { id: 'a-2', atTurn: 2 },
          { id: 'B-2', atTurn: 2 },
        ],
      });
      await archive.write(forkOf('a-2', 2));
      await archive.write(forkOf('z-1', 1)); // a fork made after the parent's write adds itself
      await archive.write(parent); // the parent written again (the judge's write) without a list keeps it
      await archive.write({ ...parent, forks: [{ id: 'a-2', atTurn: 2 }] });
      assert.deepEqual(await archive.forks('f-parent'), [
        { id: 'z-1', atTurn: 1 },
        { id: 'B-2', atTurn: 2 },
        { id: 'a-2', atTurn: 2 },
      ]);
      assert.deepEqual(await archive.forks('a-2'), []);
      await archive.prune({ runId: 'run-forks' });
      assert.deepEqual(await archive.forks('f-parent'), [], "the parent's links go with it");
      assert.equal((await archive.prune({ beforeMs: 4_000_101 })).length, 2, 'the forks');
    });

    it('keeps a finished run: an upsert read back as written, listed newest first with a cursor, deleted with its run', async () => {
      const r1 = run('r-1', 5_000_000, 'key-a');
      await archive.writeRun({ ...r1, conversations: [] });
      await archive.writeRun(r1);
      const got = await archive.getRun('r-1');
      const { archived, ...state } = got!.state;
      assert.ok(archived! > 0, 'read back with the time it was archived');
      assert.equal(JSON.stringify({ ...got, state }), JSON.stringify(r1), 'the last write, byte for byte');
      assert.equal(await archive.getRun('nope'), null);
      // Same creation time: ordered by id bytes, descending, as ZREVRANGE orders `<p>:runs` ("a" > "B").
      await archive.writeRun(run('r-a', 5_000_001));
      await archive.writeRun(run('r-B', 5_000_001, 'key-a'));
      await archive.writeRun(run('r-0', 4_999_999));
      const seen: string[] = [];
      let before: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await archive.runIds({ limit: 2, ...(before ? { before } : {}) });
        seen.push(...page.ids);
        if (!page.next) break;
        before = page.next;
      }
      assert.deepEqual(seen, ['r-a', 'r-B', 'r-1', 'r-0']);
      assert.deepEqual((await archive.runIds({ limit: 10, owner: 'key-a' })).ids, ['r-B', 'r-1']);
      await assert.rejects(archive.runIds({ limit: 1, before: 'x' }), /bad run cursor/);
      await archive.write(conv('r-1-c1', 'r-1', 5_000_010));
      assert.deepEqual(
        (await archive.prune({ runId: 'r-1' })).map((r) => r.id),
        ['r-1-c1'],
      );
      assert.equal(await archive.getRun('r-1'), null, 'deleting a run removes its row');
      await archive.prune({ beforeMs: 6_000_000, runId: 'r-a' });
      assert.notEqual(await archive.getRun('r-a'), null, 'a prune by date keeps the run rows');
    });
  });
}
