/**
 * `llmconv run <file>` (upload a seed file as a run, optionally follow it with a progress bar) and
 * `llmconv runs` (the list with progress).
 */
import type { RunView } from '../api/http-contract';
import { ApiError } from './api-client';
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
  /** With `runId`: when the settings differ from the run's, start a new run instead of failing. */
  newRun?: boolean;
  /** Any other run option (templates, models …) as a JSON object. */
  options?: Record<string, unknown>;
  follow?: boolean;
  tty?: boolean;
  /** The options to repeat in the re-attach hint (`--url …`): how this CLI reached the producer. */
  connection?: string;
}

/** One line of a run's progress. */
export function runProgressLine(v: RunView): string {
  const failed = (v.byStatus.failed ?? 0) + (v.byStatus.timed_out ?? 0);
  const eta = v.etaSeconds === null ? '' : ` · ETA ${v.etaSeconds}s`;
  return `${renderProgressBar(v.finished, v.seeds, 24, 'conversations')} · ${v.active} active · ${v.waiting} waiting · ${failed} failed · ${v.throughputPerSecond}/s${eta} · ${v.state}`;
}

/** Follows a run until it ends (or `signal` aborts: then it throws); resolves with its last view. */
export async function followRun(client: RunClient, runId: string, out: FollowOutput, tty: boolean, signal?: AbortSignal): Promise<RunView> {
  let last: RunView | undefined;
  for (let attempt = 0; attempt < 10; attempt++) {
    for await (const ev of client.events(runId, signal)) {
      if (ev.event !== 'progress' && ev.event !== 'end') continue;
      last = JSON.parse(ev.data) as RunView;
      out.write(tty ? `\r\x1b[2K${runProgressLine(last)}` : `${runProgressLine(last)}\n`);
      if (ev.event === 'end') {
        if (tty) out.write('\n');
        return last;
      }
    }
    signal?.throwIfAborted();
    // The stream dropped before `end` (a producer restarting): read the state, then reconnect.
    last = await client.status(runId);
    if (last.state !== 'active') return last;
    await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
  }
  return last ?? client.status(runId);
}

/** The exit code of a run followed to its end: 3 when it had failures or was cancelled. */
const endCode = (end: RunView) =>
  (end.byStatus.failed ?? 0) + (end.byStatus.timed_out ?? 0) + (end.byStatus.cancelled ?? 0) > 0 || end.state === 'cancelled' ? 3 : 0;

/**
 * Follows a run to its end; Ctrl-C (SIGINT) stops following, not the run, and prints how to
 * re-attach. Resolves to the exit code: 0, 3 (failures), 130 (detached).
 */
export async function followRunCommand(
  client: RunClient,
  runId: string,
  stderr: FollowOutput,
  tty: boolean,
  connection = '',
): Promise<number> {
  const detach = new AbortController();
  const onInterrupt = () => detach.abort();
  process.once('SIGINT', onInterrupt);
  try {
    return endCode(await followRun(client, runId, stderr, tty, detach.signal));
  } catch (err) {
    if (!detach.signal.aborted) throw err;
    stderr.write(
      `\n  detached: run ${runId} goes on running on the producer (Ctrl-C stops following, not the run)\n` +
        `  re-attach: llmconv follow ${runId}${connection}\n` +
        `  cancel it: DELETE /runs/${runId} on the producer\n`,
    );
    return 130;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** `llmconv run`: resolves to the exit code (0 ok; 3 when a followed run had failures; 130 detached with Ctrl-C). */
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
  if (o.newRun) query.newRun = 'true';
  const res = await client.submit(file, query, o.options, o.runId);
  stdout.write(`${res.runId}\n`);
  if (res.requestedRun)
    stderr.write(`  new run ${res.runId}: run ${res.requestedRun} has other settings (${(res.settingsChanged ?? []).join('; ')})\n`);
  stderr.write(
    `  accepted ${res.accepted}, duplicates ${res.duplicates}, rejected ${res.rejected}${res.retried ? `, retried ${res.retried}` : ''}\n`,
  );
  // A cap reached during the upload (RUN_MAX_SEEDS, BACKLOG_MAX_*): what fit was added.
  if (res.refused) stderr.write(`  refused ${res.refused} from line ${res.refusedFromLine}: ${res.refusedReason}\n`);
  for (const r of res.rejectedLines) stderr.write(`  line ${r.line}: ${r.reason}\n`);
  if (res.rejected > res.rejectedLines.length) stderr.write(`  (all rejected lines: ${res.statusUrl})\n`);
  if (!o.follow) return 0;
  return followRunCommand(client, res.runId, stderr, Boolean(o.tty), o.connection);
}

/**
 * `llmconv follow <id>`: the conversation with that id (`conversation`, cli/follow.ts), else the
 * run with that id, to its end. Resolves to the exit code.
 */
export async function followCommand(
  client: RunClient,
  id: string,
  conversation: () => Promise<number>,
  stderr: FollowOutput,
  tty: boolean,
  connection = '',
): Promise<number> {
  try {
    return await conversation();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
  }
  try {
    await client.status(id);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404)
      throw new ApiError(404, 'not_found', `404 no conversation with id "${id}" and no run with that id (llmconv list, llmconv runs)`);
    throw err;
  }
  return followRunCommand(client, id, stderr, tty, connection);
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
