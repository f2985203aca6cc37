/**
 * `llmconv run <file>` (upload a seed file as a run, optionally follow it with a progress bar) and
 * `llmconv runs` (the list with progress).
 */
import type { RunView } from '../api/http-contract';
import type { FollowOutput } from './follow';
import { renderProgressBar } from './progress-bar';
import type { RunClient } from './run-client';

export interface RunCommandOptions {
  runId?: string;
  turns?: number;
  maxActive?: number;
  name?: string;
  /** Re-run the run's failed conversations (with `runId`). */
  retryFailed?: boolean;
  /** Any other run option (templates, models …) as a JSON object. */
  options?: Record<string, unknown>;
  follow?: boolean;
  tty?: boolean;
}

/** One line of a run's progress. */
export function runProgressLine(v: RunView): string {
  const failed = (v.byStatus.failed ?? 0) + (v.byStatus.timed_out ?? 0);
  const eta = v.etaSeconds === null ? '' : ` · ETA ${v.etaSeconds}s`;
  return `${renderProgressBar(v.finished, v.seeds, 24, 'conversations')} · ${v.active} active · ${v.waiting} waiting · ${failed} failed · ${v.throughputPerSecond}/s${eta} · ${v.state}`;
}

/** Follows a run until it ends; resolves with its last view. */
export async function followRun(client: RunClient, runId: string, out: FollowOutput, tty: boolean): Promise<RunView> {
  let last: RunView | undefined;
  for (let attempt = 0; attempt < 10; attempt++) {
    for await (const ev of client.events(runId)) {
      if (ev.event !== 'progress' && ev.event !== 'end') continue;
      last = JSON.parse(ev.data) as RunView;
      out.write(tty ? `\r\x1b[2K${runProgressLine(last)}` : `${runProgressLine(last)}\n`);
      if (ev.event === 'end') {
        if (tty) out.write('\n');
        return last;
      }
    }
    // The stream dropped before `end` (a producer restarting): read the state, then reconnect.
    last = await client.status(runId);
    if (last.state !== 'active') return last;
    await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
  }
  return last ?? client.status(runId);
}

/** `llmconv run`: resolves to the exit code (0 ok; 3 when a followed run had failures). */
export async function runCommand(
  client: RunClient,
  file: string,
  o: RunCommandOptions,
  stdout: FollowOutput,
  stderr: FollowOutput,
): Promise<number> {
  const query: Record<string, string> = {};
  if (o.turns !== undefined) query.maxTurns = String(o.turns);
  if (o.maxActive !== undefined) query.maxActive = String(o.maxActive);
  if (o.name !== undefined) query.name = o.name;
  if (o.retryFailed) query.retryFailed = 'true';
  const res = await client.submit(file, query, o.options, o.runId);
  stdout.write(`${res.runId}\n`);
  stderr.write(
    `  accepted ${res.accepted}, duplicates ${res.duplicates}, rejected ${res.rejected}${res.retried ? `, retried ${res.retried}` : ''}\n`,
  );
  // A cap reached during the upload (RUN_MAX_SEEDS, BACKLOG_MAX_*): what fit was added.
  if (res.refused) stderr.write(`  refused ${res.refused} from line ${res.refusedFromLine}: ${res.refusedReason}\n`);
  for (const r of res.rejectedLines) stderr.write(`  line ${r.line}: ${r.reason}\n`);
  if (res.rejected > res.rejectedLines.length) stderr.write(`  (all rejected lines: ${res.statusUrl})\n`);
  if (!o.follow) return 0;
  const end = await followRun(client, res.runId, stderr, Boolean(o.tty));
  const bad = (end.byStatus.failed ?? 0) + (end.byStatus.timed_out ?? 0) + (end.byStatus.cancelled ?? 0);
  return bad > 0 || end.state === 'cancelled' ? 3 : 0;
}

/** `llmconv runs`: the newest runs with their progress. */
export async function runsCommand(client: RunClient, limit: number, stdout: FollowOutput): Promise<number> {
  const runs = await client.list(limit);
  if (!runs.length) {
    stdout.write('no runs yet\n');
    return 0;
  }
  const table = runs.map((r) => [
    r.runId,
    r.name || '-',
    r.state,
    `${r.finished}/${r.seeds}`,
    String(r.active),
    String(r.waiting),
    String(r.byStatus.failed ?? 0),
    r.createdAt.replace('T', ' ').slice(0, 19),
  ]);
  const head = ['RUN', 'NAME', 'STATE', 'DONE', 'ACTIVE', 'WAITING', 'FAILED', 'CREATED (UTC)'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  for (const row of [head, ...table]) stdout.write(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
  return 0;
}
