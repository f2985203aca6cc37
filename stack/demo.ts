/**
 * `npm run demo -- "question"`: one conversation end to end on the embedded defaults, with
 * turn-by-turn progress, the transcript's path and a short summary. Exits 0 when it completes.
 */
import axios from 'axios';
import { startLocalStack } from './local-stack';
import { describeStack } from './describe-stack';
import { oldNodeNotice, replaceSdkNodeWarning } from './node-support';

const DEFAULT_QUESTION = 'What is the meaning of life?';

function clip(text: string | null, max = 110): string {
  const one = (text ?? '').replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

async function main() {
  const question = process.argv.slice(2).join(' ').trim() || DEFAULT_QUESTION;
  const started = Date.now();
  replaceSdkNodeWarning();
  const stack = await startLocalStack({
    env: { LOG_LEVEL: 'warn', ...process.env, PORT: process.env.PORT ?? '0' },
    unknownModels: 'refuse',
  });
  const out = process.stdout;
  try {
    out.write(describeStack(stack));
    const notice = oldNodeNotice();
    if (notice) out.write(`  note: ${notice}\n\n`);
    const http = axios.create({ baseURL: stack.producerUrl, validateStatus: () => true });
    const res = await http.post('/conversation', { initialQuery: question });
    if (res.status !== 202) throw new Error(`POST /conversation answered ${res.status}: ${JSON.stringify(res.data)}`);
    const id = res.data.conversationId as string;
    out.write(`conversation ${id}: "${clip(question)}" (${stack.config.maxTurns} turns)\n\n`);
    let shown = 0;
    let view: any;
    for (;;) {
      view = (await http.get(`/conversation/${id}`)).data;
      for (const t of view.turns as any[]) {
        if (t.turn <= shown || t.ollamaResponse === null) continue;
        out.write(`turn ${t.turn}/${view.maxTurns}  (${t.processingTimeMs} ms)\n`);
        out.write(`  Q      ${clip(t.question)}\n  cloud  ${clip(t.cloudResponse)}\n  local  ${clip(t.ollamaResponse)}\n`);
        shown = t.turn;
      }
      if (['completed', 'failed', 'cancelled', 'timed_out'].includes(view.status) && (view.transcriptFile || view.status !== 'completed'))
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The transcript step may still be writing the partial CSV of a failed conversation.
    for (let i = 0; i < 30 && !view.transcriptFile; i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = (await http.get(`/conversation/${id}`)).data;
    }
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    out.write(`\n${view.status} (${view.stopReason ?? 'n/a'}) after ${view.turnsCompleted} turns in ${secs} s\n`);
    out.write(
      `tokens: cloud ${view.totals.cloudInputTokens} in / ${view.totals.cloudOutputTokens} out, local ${view.totals.localInputTokens} in / ${view.totals.localOutputTokens} out\n`,
    );
    if (view.error) out.write(`error: ${view.error}\n`);
    out.write(`transcript: ${view.transcriptFile ?? '(not written)'}\n`);
    process.exitCode = view.status === 'completed' ? 0 : 1;
  } finally {
    await stack.close();
  }
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
