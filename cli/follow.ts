/**
 * `llmconv follow`: prints a conversation's turns as they arrive over the SSE stream, with a
 * progress bar (redrawn in place on a terminal, one line per turn otherwise), and returns the
 * terminal state. Reconnects when the stream drops before the end (e.g. a producer restarting);
 * steps already printed are not printed twice.
 */
import type { ConversationView, EndEventData, StepEventData } from '../api/http-contract';
import type { ApiClient } from './api-client';
import { ApiError } from './api-client';
import { renderProgressBar } from './progress-bar';

export interface FollowOutput {
  write(text: string): unknown;
}

export interface FollowOptions {
  /** Redraw the progress bar in place (a terminal). Default false: one progress line per turn. */
  tty?: boolean;
  signal?: AbortSignal;
  /** Reconnect attempts in a row without any event before giving up. Default 10. */
  maxReconnects?: number;
  /** First reconnect delay, ms (doubles up to 5 s). Default 500. */
  reconnectDelayMs?: number;
}

export interface FollowResult {
  conversationId: string;
  status: string;
  stopReason: string | null;
  error: string | null;
  turnsCompleted: number;
  maxTurns: number;
  transcriptUrl: string;
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

export async function followConversation(api: ApiClient, id: string, out: FollowOutput, opts: FollowOptions = {}): Promise<FollowResult> {
  const tty = opts.tty ?? false;
  const seen = new Set<string>();
  let maxTurns = 0;
  let status = 'queued';
  let headerShown = false;
  let barShown = false;
  const completed = () => [...seen].filter((k) => k.startsWith('local:')).length;

  const clearBar = () => {
    if (tty && barShown) out.write('\r\x1b[2K');
    barShown = false;
  };
  const drawBar = () => {
    const line = `${renderProgressBar(completed(), maxTurns)} · ${status}`;
    if (tty) {
      out.write(`\r\x1b[2K${line}`);
      barShown = true;
    } else {
      out.write(`${line}\n`);
    }
  };
  const printStep = (d: StepEventData) => {
    const key = `${d.side}:${d.turn}`;
    if (seen.has(key)) return;
    seen.add(key);
    clearBar();
    const cost = d.costUsd === undefined ? '' : ` · ${formatUsd(d.costUsd)}`;
    const stats = `${d.model} · ${d.inputTokens} in / ${d.outputTokens} out tokens · ${d.latencyMs} ms${cost}`;
    if (d.side === 'cloud') {
      out.write(`\n── turn ${d.turn} ${'─'.repeat(40)}\n`);
      if (d.turn === 1 && d.question) out.write(`  question\n${indent(d.question)}\n`);
      out.write(`  cloud  ${stats}\n${indent(d.text)}\n`);
      if (tty) drawBar();
    } else {
      out.write(`  local  ${stats}\n${indent(d.text)}\n`);
      drawBar();
    }
  };
  const fromView = (v: ConversationView) => {
    maxTurns = v.maxTurns;
    status = v.status;
    if (!headerShown) {
      headerShown = true;
      out.write(
        `conversation ${v.conversationId}\n  cloud: ${v.cloudModel}   local: ${v.localModel}   max turns: ${v.maxTurns}   status: ${v.status}\n`,
      );
    }
    for (const t of v.turns) {
      if (t.cloud)
        printStep({
          conversationId: v.conversationId,
          turn: t.turn,
          side: 'cloud',
          question: t.question,
          text: t.cloudResponse ?? '',
          ...t.cloud,
          at: t.timestamp,
        });
      if (t.local)
        printStep({
          conversationId: v.conversationId,
          turn: t.turn,
          side: 'local',
          text: t.ollamaResponse ?? '',
          ...t.local,
          at: t.timestamp,
        });
    }
  };

  const maxReconnects = opts.maxReconnects ?? 10;
  let delay = opts.reconnectDelayMs ?? 500;
  let failures = 0;
  for (;;) {
    let gotAny = false;
    try {
      for await (const msg of api.events(id, opts.signal)) {
        gotAny = true;
        if (msg.event === 'snapshot') {
          fromView(JSON.parse(msg.data) as ConversationView);
          if (tty) drawBar();
        } else if (msg.event === 'cloud' || msg.event === 'local') {
          printStep(JSON.parse(msg.data) as StepEventData);
        } else if (msg.event === 'status') {
          status = (JSON.parse(msg.data) as { status: string }).status;
          if (tty) drawBar();
        } else if (msg.event === 'end') {
          const end = JSON.parse(msg.data) as EndEventData;
          fromView(end.view);
          status = end.status;
          clearBar();
          const mark = end.status === 'completed' ? '✔' : '✖';
          out.write(`\n${renderProgressBar(completed(), maxTurns)}\n`);
          out.write(
            `${mark} ${end.status}${end.stopReason ? ` (${end.stopReason})` : ''} after ${completed()} turn(s)${end.error ? `: ${end.error}` : ''}\n`,
          );
          if (end.view.cost)
            out.write(
              `  cost: ${formatUsd(end.view.cost.totalUsd)} (cloud ${formatUsd(end.view.cost.cloudUsd)}, local ${formatUsd(end.view.cost.localUsd)})${end.view.cost.unpricedModels.length ? `; no price for ${end.view.cost.unpricedModels.join(', ')}` : ''}\n`,
            );
          out.write(`  transcript: ${api.link(end.transcriptUrl)}\n`);
          return {
            conversationId: id,
            status: end.status,
            stopReason: end.stopReason,
            error: end.error,
            turnsCompleted: completed(),
            maxTurns,
            transcriptUrl: api.link(end.transcriptUrl),
          };
        }
      }
    } catch (err) {
      // A 4xx (unknown id, bad key) will not get better by retrying.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      if (opts.signal?.aborted) throw err;
    }
    failures = gotAny ? 0 : failures + 1;
    if (failures > maxReconnects) throw new ApiError(0, 'stream_lost', `lost the event stream of ${id} and could not reconnect`);
    clearBar();
    out.write('  (stream interrupted; reconnecting…)\n');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

/** USD for people: "$0.000123", or "cost unknown" when the model has no price. */
export function formatUsd(usd: number | null): string {
  return usd === null ? 'cost unknown' : `$${usd.toFixed(usd !== 0 && usd < 0.01 ? 6 : 4)}`;
}
