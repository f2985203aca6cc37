import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startEmbeddedRedis, freePort } from '../../../shared/embedded-redis';
import { createLogger } from '../../../shared/logger';
import { createWorkerConnection } from '../../../shared/redis-connection';
import { createOutageLog } from '../../../shared/redis-outage-log';

/** A logger writing JSON lines into an array. */
function capture() {
  const lines: Record<string, any>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', name: 'outage-test', destination }) };
}

describe('Redis outage log', function () {
  this.timeout(20_000);

  it('logs an outage once, then one line per period with the error count, then once when Redis is back', async () => {
    const { lines, logger } = capture();
    const outage = createOutageLog(logger, 'test', 400);
    const port = await freePort();
    // A real connection to a port where nothing listens yet: ioredis retries (every 20 ms here)
    // and emits an error each time.
    const conn = createWorkerConnection(`redis://127.0.0.1:${port}`, { retryStrategy: () => 20 });
    outage.watch(conn);
    const errors: Error[] = [];
    conn.on('error', (e) => errors.push(e));
    await new Promise((r) => setTimeout(r, 1300));
    const start = lines.filter((l) => /^Redis unreachable \(test\)/.test(l.msg));
    const periodic = lines.filter((l) => /^Redis still unreachable \(test\)/.test(l.msg));
    assert.equal(start.length, 1, 'one line when it starts');
    assert.ok(periodic.length >= 2 && periodic.length <= 3, `one line per 400 ms period: ${periodic.length}`);
    assert.ok(
      errors.length > start.length + periodic.length,
      `fewer lines (${start.length + periodic.length}) than errors (${errors.length})`,
    );
    const counted = periodic.reduce((n, l) => n + l.errors, 0);
    assert.ok(
      counted <= errors.length - 1 && counted >= 1,
      `the periodic lines count the errors since the last line (${counted} of ${errors.length})`,
    );
    assert.equal(outage.state().down, true);
    assert.match(outage.state().lastError ?? '', /ECONNREFUSED/);

    const redis = await startEmbeddedRedis({ port });
    try {
      await new Promise<void>((r) => (conn.status === 'ready' ? r() : conn.once('ready', () => r())));
      const back = lines.filter((l) => /^Redis reachable again \(test\)/.test(l.msg));
      assert.equal(back.length, 1);
      assert.equal(back[0]!.errors, errors.length);
      const before = lines.length;
      await new Promise((r) => setTimeout(r, 900));
      assert.equal(lines.length, before, 'no periodic line once Redis is back');
      assert.equal(outage.state().down, false);
    } finally {
      conn.disconnect();
      outage.close();
      await redis.stop();
    }
  });

  it('logs errors that are not about the connection each time, unthrottled', () => {
    const { lines, logger } = capture();
    const outage = createOutageLog(logger, 'test');
    outage.error(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'));
    outage.error(new Error('WRONGTYPE again'));
    assert.deepEqual(
      lines.map((l) => l.err),
      ['WRONGTYPE Operation against a key holding the wrong kind of value', 'WRONGTYPE again'],
    );
    assert.equal(outage.state().down, false);
    outage.close();
  });
});
