/**
 * The producer's export route alone in a child process, so the export's peak RSS is measured
 * apart from the bench's other phases. Started by `bench/export-speed.ts` as
 * `node --import tsx bench/export-server.ts` with an IPC channel.
 *
 * Protocol: parent → `{type:'start', redisUrl, prefix, archiveFile?}` (archiveFile: a SQLite archive reads fall through to); child → `{type:'ready', port, rssBytes}`;
 * parent → `{type:'stop'}`; child → `{type:'stopped', maxRssBytes, cpuMs}` and exits.
 */
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import Koa from 'koa';
import { errorMiddleware } from '../producer/error-middleware';
import { runsExportRoutes } from '../producer/routes/runs-export-route';
import { ConversationStore } from '../store/conversation-store';
import { SqlArchive } from '../store/archive/sql-archive';
import { openSqliteDriver } from '../store/archive/sqlite-driver';

type Message = { type: 'start'; redisUrl: string; prefix: string; archiveFile?: string } | { type: 'stop' };

const send = (msg: object, then?: () => void) => process.send?.(msg, undefined, {}, () => then?.());

let stop: (() => Promise<void>) | undefined;

process.on('message', (msg: Message) => {
  if (msg.type === 'start') {
    const redis = new Redis(msg.redisUrl);
    const store = new ConversationStore(redis, { prefix: msg.prefix, retentionSeconds: 3600 });
    // bench/archive.ts: reads fall through to this SQLite archive (a promise the first request awaits).
    const opened = msg.archiveFile
      ? openSqliteDriver(msg.archiveFile)
          .then((db) => SqlArchive.open(db))
          .then((a) => store.useArchive(a))
      : Promise.resolve();
    const app = new Koa();
    app.use(async (_ctx, next) => {
      await opened;
      await next();
    });
    app.use(errorMiddleware);
    const router = runsExportRoutes({ config: { queuePrefix: msg.prefix, csvEscapeFormulas: true }, redis, store });
    app.use(router.routes());
    const server = app.listen(0, '127.0.0.1', () =>
      send({ type: 'ready', port: (server.address() as AddressInfo).port, rssBytes: process.memoryUsage().rss }),
    );
    stop = async () => {
      await new Promise((r) => server.close(r));
      redis.disconnect();
    };
  } else if (msg.type === 'stop') {
    void (stop?.() ?? Promise.resolve()).then(() => {
      const u = process.cpuUsage();
      send({ type: 'stopped', maxRssBytes: process.resourceUsage().maxRSS * 1024, cpuMs: (u.user + u.system) / 1000 }, () =>
        process.exit(0),
      );
    });
  }
});
