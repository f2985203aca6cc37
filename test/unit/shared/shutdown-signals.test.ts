/**
 * shared/shutdown.ts in a real child process with real signals: a signal repeated within the
 * grace (as npm, tsx and a terminal deliver one Ctrl-C) does not cut the drain; one after the
 * grace forces an exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { FORCE_GRACE_MS } from '../../../shared/shutdown';

const ROOT = path.resolve(__dirname, '../../..');

/** A process whose one shutdown step takes `drainMs`; prints "ready", then its log lines. */
function start(drainMs: number) {
  const script = `
    const { onShutdown } = require('./shared/shutdown');
    const log = (level) => (o, m) => console.log(JSON.stringify({ level, msg: m ?? o, ...(typeof o === 'object' ? o : {}) }));
    const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') };
    onShutdown(logger, [{ name: 'drain', run: () => new Promise((r) => setTimeout(() => { console.log('drained'); r(); }, ${drainMs})) }], 10000);
    setInterval(() => {}, 1000);
    console.log('ready');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes('ready')) {
        clearInterval(t);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(out));
      }
    }, 20);
  });
  return { child, exited, ready, output: () => out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('shutdown on signals (a real process)', function () {
  this.timeout(20_000);

  it(`SIGINT three times within ${FORCE_GRACE_MS} ms (npm + tsx + the terminal): one drain, exit 0, no force`, async () => {
    const p = start(FORCE_GRACE_MS + 300);
    await p.ready;
    p.child.kill('SIGINT');
    await sleep(30);
    p.child.kill('SIGINT');
    await sleep(30);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.output());
    assert.match(p.output(), /press Ctrl-C again to force/);
    assert.match(p.output(), /drained[\s\S]*stopped/);
    assert.doesNotMatch(p.output(), /exiting now/);
  });

  it(`a second SIGINT after ${FORCE_GRACE_MS} ms forces: exit 1 before the drain ends, and says so`, async () => {
    const p = start(8000);
    await p.ready;
    const t0 = Date.now();
    p.child.kill('SIGINT');
    await sleep(FORCE_GRACE_MS + 200);
    p.child.kill('SIGINT');
    assert.equal(await p.exited, 1, p.output());
    assert.ok(Date.now() - t0 < 5000);
    assert.match(p.output(), /second signal: exiting now/);
    assert.doesNotMatch(p.output(), /drained/);
  });
});
