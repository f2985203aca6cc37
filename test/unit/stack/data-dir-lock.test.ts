import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCK_FILE, lockDataDir, pidAlive } from '../../../stack/data-dir-lock';

describe('embedded Redis data dir lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-lock-')), 'redis');
  });
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('creates the dir, writes the owner pid, and removes the file on release', async () => {
    const lock = await lockDataDir(dir);
    const owner = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'));
    assert.equal(owner.pid, process.pid);
    lock.setRedisPid(12345);
    assert.equal(JSON.parse(fs.readFileSync(lock.file, 'utf8')).redisPid, 12345);
    lock.release();
    assert.equal(fs.existsSync(lock.file), false);
  });

  it('refuses a second holder in the same process, naming the owner', async () => {
    const lock = await lockDataDir(dir);
    await assert.rejects(
      lockDataDir(dir),
      (err: Error) =>
        err.message.includes(`is in use by another llmconv stack (pid ${process.pid}`) && err.message.includes('REDIS_DATA_DIR'),
    );
    lock.release();
    (await lockDataDir(dir)).release();
  });

  it('refuses while another live process holds it, takes over once that process is gone', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: other.pid, startedAt: new Date().toISOString() }));
    await assert.rejects(lockDataDir(dir), new RegExp(`\\(pid ${other.pid},`));
    const gone = new Promise((r) => other.once('exit', r));
    other.kill('SIGKILL');
    await gone;
    assert.equal(pidAlive(other.pid!), false);
    const lock = await lockDataDir(dir);
    assert.equal(lock.tookOverFrom?.pid, other.pid);
    lock.release();
  });

  it("takes over a lock file with this process's own pid that it does not hold (a previous life with the same pid)", async () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, startedAt: '2020-01-01T00:00:00.000Z' }));
    const lock = await lockDataDir(dir);
    assert.equal(lock.tookOverFrom?.startedAt, '2020-01-01T00:00:00.000Z');
    lock.release();
  });

  it('takes over an unreadable (half-written) lock file', async () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, LOCK_FILE), '{"pid":');
    const lock = await lockDataDir(dir);
    assert.equal(JSON.parse(fs.readFileSync(lock.file, 'utf8')).pid, process.pid);
    lock.release();
  });
});
