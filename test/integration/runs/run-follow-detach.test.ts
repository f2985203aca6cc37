import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../../cli/main';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

const ROOT = path.resolve(__dirname, '../../..');
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

describe('following a run: Ctrl-C detaches with a re-attach hint, llmconv follow <runId> re-attaches', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let tmp: string;
  // One tmux session of this process only; killed by name in `after`.
  const session = `uploads-t-${process.pid}`;

  before(async function () {
    if (!hasTmux) this.skip();
    stack = await startTestStack({}, { emulatorLatencyMs: 0 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-detach-'));
  });
  after(async () => {
    if (hasTmux) {
      try {
        tmux('kill-session', '-t', session);
      } catch {
        // already gone
      }
    }
    await stack?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('in a real terminal (tmux), Ctrl-C on llmconv run --follow prints how to re-attach and exits 130; the run goes on and follow <runId> sees it to the end', async () => {
    // Slow local answers: the run is still going when Ctrl-C comes.
    stack.ollama!.faults.set({ latencyMs: 400 });
    const file = path.join(tmp, 'seeds.txt');
    fs.writeFileSync(file, `${Array.from({ length: 12 }, (_, i) => `Detach question ${i}?`).join('\n')}\n`);
    const done = path.join(tmp, 'exit-code');
    const command = `node bin/llmconv.js run ${file} --run detach-me --turns 2 --max-active 2 --follow --url ${stack.producerUrl}; echo $? > ${done}; sleep 60`;
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '40', '-c', ROOT, command);
    const pane = () => tmux('capture-pane', '-p', '-t', session, '-S', '-100');
    await until(() => /conversations .* active/.test(pane()), 30_000, 'the progress bar in the terminal');
    tmux('send-keys', '-t', session, 'C-c');
    await until(() => fs.existsSync(done), 15_000, 'the CLI to exit after Ctrl-C');
    assert.equal(fs.readFileSync(done, 'utf8').trim(), '130', pane());
    const screen = pane();
    assert.match(screen, /detached: run detach-me goes on running on the producer/);
    assert.match(screen, new RegExp(`re-attach: llmconv follow detach-me --url ${stack.producerUrl!.replace(/[.]/g, '\\.')}`));
    const view = (await stack.http.get('/runs/detach-me')).data;
    assert.equal(view.state, 'active', 'Ctrl-C stopped following, not the run');

    stack.ollama!.faults.reset();
    const again = await cli(['follow', 'detach-me', '--url', stack.producerUrl!]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /\[█{24}\] 12\/12 conversations .* finished/);
  });

  it('llmconv follow names both when neither a conversation nor a run has the id', async () => {
    const r = await cli(['follow', 'no-such-thing', '--url', stack.producerUrl!]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /404 no conversation with id "no-such-thing" and no run with that id/);
  });
});
