/**
 * Ctrl-C in a real terminal: `npm start` runs in a tmux session, and `tmux send-keys C-c` makes the
 * terminal deliver SIGINT to the whole foreground process group (npm, tsx and node at once; npm
 * and tsx relay it again). A Ctrl-C, even pressed twice within the grace, must drain (no "exiting now", within the bound, the next
 * start resumes and finishes every conversation); a second Ctrl-C after the grace forces.
 * Needs tmux (skipped without it); each test kills only its own session.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { FORCE_GRACE_MS } from '../../../shared/shutdown';
import { LOCK_FILE } from '../../../stack/data-dir-lock';
import { SHUTDOWN_BOUND_MS } from '../../../stack/shutdown-bounds';
import { until } from '../../helpers/test-stack';

const ROOT = path.resolve(__dirname, '../../..');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out'];

interface Terminal {
  session: string;
  log: string;
  output(): string;
  ctrlC(): void;
  /** The exit status npm start ended with (the shell writes `exit=N` after it). */
  exitStatus(): number | undefined;
}

describe('Ctrl-C in a real terminal (tmux) under npm start', function () {
  this.timeout(120_000);
  let n = 0;
  const sessions: string[] = [];
  const dirs: string[] = [];

  before(function () {
    if (!hasTmux) this.skip();
  });
  afterEach(() => {
    for (const s of sessions.splice(0)) spawnSync('tmux', ['kill-session', '-t', s]);
    for (const d of dirs.splice(0)) {
      // A forced stop leaves its (detached) redis-server: stop the one this test started.
      const lock = path.join(d, 'redis', LOCK_FILE);
      if (fs.existsSync(lock)) {
        const { redisPid } = JSON.parse(fs.readFileSync(lock, 'utf8')) as { redisPid?: number };
        if (redisPid) {
          try {
            process.kill(redisPid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  function tmpDir(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-ctrlc-'));
    dirs.push(d);
    return d;
  }

  /** `npm start` in a new detached tmux session; its output goes to a file (the terminal's job control is unchanged). */
  function npmStart(dir: string, env: Record<string, string>): Terminal {
    const session = `llmconv-ctrlc-${process.pid}-${++n}`;
    const log = path.join(dir, `npm-start-${n}.log`);
    const vars = Object.entries({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_DATA_DIR: path.join(dir, 'redis'),
      OUTPUT_DIR: path.join(dir, 'out'),
      LOG_LEVEL: 'info',
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      ...env,
    })
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    // The shell traps INT so it outlives npm and records its exit status.
    const script = `cd ${ROOT} && trap : INT TERM; env ${vars} npm start > ${log} 2>&1; echo "exit=$?" >> ${log}; sleep 600`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50', script]);
    sessions.push(session);
    const output = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
    return {
      session,
      log,
      output,
      ctrlC: () => execFileSync('tmux', ['send-keys', '-t', session, 'C-c']),
      exitStatus: () => {
        const m = /^exit=(\d+)$/m.exec(output());
        return m ? Number(m[1]) : undefined;
      },
    };
  }

  async function banner(t: Terminal): Promise<{ url: string; resumed?: number }> {
    await until(() => /output dir/.test(t.output()) || t.exitStatus() !== undefined, 60_000, 'the start-up banner');
    const url = /producer\s+(http:\/\/\S+)/.exec(t.output())?.[1];
    assert.ok(url, `banner:\n${t.output().slice(-3000)}`);
    const resumed = /resumed\s+(\d+) unfinished/.exec(t.output())?.[1];
    return { url, resumed: resumed === undefined ? undefined : Number(resumed) };
  }

  async function post(url: string, count: number, maxTurns: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const res = await axios.post(`${url}/conversation`, { initialQuery: `Terminal question ${i}`, maxTurns });
      ids.push(res.data.conversationId);
    }
    return ids;
  }

  const view = async (url: string, id: string) => (await axios.get(`${url}/conversation/${id}`)).data;

  it('Ctrl-C (pressed twice within the grace) drains (no "exiting now", within the bound); the next npm start resumes and finishes every conversation', async () => {
    const dir = tmpDir();
    const first = npmStart(dir, { EMULATOR_LATENCY_MS: '250' });
    const { url } = await banner(first);
    const ids = await post(url, 4, 6);
    await until(async () => (await view(url, ids[0]!)).turnsCompleted >= 1, 30_000, 'a turn done');

    const pressed = Date.now();
    first.ctrlC();
    // Pressed again at once (as people do; and as npm and tsx relay the first): still the same drain.
    await new Promise((r) => setTimeout(r, 150));
    first.ctrlC();
    await until(() => first.exitStatus() !== undefined, SHUTDOWN_BOUND_MS + 5000, 'npm start to end');
    const tookMs = Date.now() - pressed;
    const out = first.output();
    assert.match(out, /shutting down: draining; press Ctrl-C again to force/);
    assert.doesNotMatch(out, /exiting now/, 'the relayed signals did not force an exit');
    assert.doesNotMatch(out, /shutdown timed out/);
    assert.match(out, /"msg":"stopped"/);
    // On Node 20 one line of ours (stack/node-support.ts), not the AWS SDK's nine.
    assert.doesNotMatch(out, /NodeVersionSupportWarning|upgrade to node >=22/);
    assert.ok(tookMs <= SHUTDOWN_BOUND_MS + 2000, `stopped ${tookMs} ms after Ctrl-C`);
    // npm reports the Ctrl-C it saw itself as 130; the stack inside exited 0.
    assert.ok([0, 130].includes(first.exitStatus()!), `exit status ${first.exitStatus()}`);
    assert.ok(!fs.existsSync(path.join(dir, 'redis', LOCK_FILE)), 'the data dir lock was released (a clean stop)');

    const second = npmStart(dir, { EMULATOR_LATENCY_MS: '20' });
    const again = await banner(second);
    assert.ok((again.resumed ?? 0) > 0, `the banner counts the unfinished conversations:\n${second.output().slice(-2000)}`);
    await until(
      async () => (await Promise.all(ids.map((id) => view(again.url, id)))).every((v) => TERMINAL.includes(v.status)),
      60_000,
      'all finished',
    );
    for (const id of ids) {
      const v = await view(again.url, id);
      assert.equal(v.status, 'completed', JSON.stringify(v.error));
      assert.equal(v.turnsCompleted, 6);
    }
    second.ctrlC();
    await until(() => second.exitStatus() !== undefined, SHUTDOWN_BOUND_MS + 5000, 'the second npm start to end');
    assert.doesNotMatch(second.output(), /exiting now/);
  });

  it(`a second Ctrl-C more than ${FORCE_GRACE_MS} ms after the first forces the exit, and says so`, async () => {
    const dir = tmpDir();
    // Calls that take 2.5 s: the drain waits for them (up to its 3 s grace), so it outlasts the grace.
    const t = npmStart(dir, { EMULATOR_LATENCY_MS: '2500' });
    const { url } = await banner(t);
    await post(url, 2, 4);
    await new Promise((r) => setTimeout(r, 600));
    t.ctrlC();
    await until(() => /shutting down/.test(t.output()), 5000, 'the first Ctrl-C seen');
    await new Promise((r) => setTimeout(r, FORCE_GRACE_MS + 300));
    assert.doesNotMatch(t.output(), /"msg":"stopped"/, 'still draining when the second Ctrl-C comes');
    const pressed = Date.now();
    t.ctrlC();
    await until(() => t.exitStatus() !== undefined, 5000, 'npm start to end');
    assert.ok(Date.now() - pressed < 2000, 'forced at once');
    const out = t.output();
    assert.match(out, /second signal: exiting now, without finishing the drain/);
    assert.doesNotMatch(out, /"msg":"stopped"/);
    assert.notEqual(t.exitStatus(), 0);
  });
});
