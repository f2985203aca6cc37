/**
 * `llmconv`: the command line client of a producer (the local stack or a remote one).
 *
 * @example
 * npx llmconv submit "Why is the sky blue?" --turns 3 --follow
 * npx llmconv follow 2f1c…            # live turns and a progress bar
 * npx llmconv transcript 2f1c… --out sky.csv
 * npx llmconv export 7d0e… --format sharegpt --assistant local --out data.jsonl
 * npx llmconv export 7d0e… --format hf --license cc-by-4.0 --language en --out sky-dataset/
 * npx llmconv list --url http://producer:8080 --api-key-file ~/.llmconv-key
 * LLMCONV_URL=http://producer:8080 LLMCONV_API_KEY=… npx llmconv export sky-run --out sky.jsonl
 */
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ApiClient, ApiError, type UrlSource } from './api-client';
import { exportCommand } from './export-command';
import { forkBody, forkReport, ForkUsageError } from './fork-command';
import { RunClient } from './run-client';
import { followCommand, runCommand, runsCommand } from './run-commands';
import { followConversation, formatUsd, type FollowOutput } from './follow';

/** Seeds from a file: one per line, a JSON object with `initialQuery` (and optional `maxTurns`, `maxTokens`) or plain text. */
export function parseSeedLines(text: string): (string | { initialQuery: string; maxTurns?: number; maxTokens?: number })[] {
  const out: (string | { initialQuery: string; maxTurns?: number; maxTokens?: number })[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t) continue;
    if (t.startsWith('{')) {
      try {
        const o = JSON.parse(t) as { initialQuery?: unknown; maxTurns?: unknown; maxTokens?: unknown };
        if (typeof o.initialQuery === 'string') {
          out.push({
            initialQuery: o.initialQuery,
            ...(typeof o.maxTurns === 'number' ? { maxTurns: o.maxTurns } : {}),
            ...(typeof o.maxTokens === 'number' ? { maxTokens: o.maxTokens } : {}),
          });
          continue;
        }
      } catch {
        // Not JSON: the line is the question itself.
      }
    }
    out.push(t);
  }
  return out;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export const HELP = `llmconv — talk to an LLM conversation pipeline producer

usage:
  llmconv submit "<question>" [--turns N] [--follow]   start a conversation (prints its id)
  llmconv follow <id>                                  live turns and a progress bar until it ends;
                                                       a run id: the run's progress until it ends
  llmconv fork <id> --at-turn K [--model M] [--local-model M] [--temperature T] [--persona P]
              [--system S] [--turns N] [--options '<json>'] [--follow]
                                                       a branch of conversation <id>: turns 1..K-1
                                                       shared (not asked again, not billed), turn K
                                                       on asked with these settings (prints its id)
  llmconv transcript <id> [--out file.csv]             the CSV transcript (stdout or a file)
  llmconv list [--limit N]                             recent conversations and their states
  llmconv export <run id or name> [--format openai|sharegpt|csv|dpo|parquet|hf] [--assistant cloud|local]
                 [--status s1,s2] [--stop-reason r1,r2] [--filter "score.helpfulness>=4"]
                 [--metadata] [--weights none|all|last|2,3] [--license id] [--language en,fr]
                 [--score criterion] [--pairs best|all] [--min-margin N]
                 [--out data.jsonl | data.parquet | dir/]
                                                       a run as a dataset (default openai, cloud
                                                       as assistant; stdout or a file); a run is
                                                       named by its id or by its --name;
                                                       --metadata adds our provenance to JSONL lines;
                                                       dpo: --pairs all writes every pair of a
                                                       prompt's answers --min-margin apart or more;
                                                       --format hf --out dir/ writes a Hugging Face
                                                       dataset (data/train-*.parquet, README.md card)
  llmconv run <seeds.jsonl|.txt|.csv> [--turns N] [--max-active N] [--name S]
              [--run ID [--new-run]] [--retry-failed] [--options '<json>'] [--follow] [--dry-run]
                                                       upload a seed file as a run (prints its id);
                                                       --run appends to (or creates) run ID with the
                                                       run's settings (others: refused, or with
                                                       --new-run a new run with them);
                                                       --retry-failed re-runs its failed conversations;
                                                       --dry-run prints the worst-case cost instead
  llmconv runs [--limit N]                             runs and their progress
  llmconv estimate <seeds-file> [--turns N] [--max-tokens N]
                                                       worst-case cost of running the seeds (nothing is spent);
                                                       the file: one seed per line, JSON {"initialQuery": ...} or plain text
  llmconv prune --before <date> [--run ID]            remove archived conversations finished before the date
  llmconv prune --run ID                               (or a run's) from the archive, and their transcripts;
                                                       an admin key (docs/archive.md)
  llmconv doctor [--probe] [--json]                    check the configured deployment (AWS, the model,
                                                       API Gateway, Ollama, Redis, OUTPUT_DIR) without a
                                                       producer; see llmconv doctor --help

options:
  --url <url>            producer base URL (default: $LLMCONV_URL, else ${DEFAULT_URL})
  --api-key <key>        the producer's API_KEY, sent as x-api-key (default: $LLMCONV_API_KEY)
  --api-key-file <path>  read the key from a file (keeps it out of the process list)
  -h, --help             this help

environment:
  LLMCONV_URL            the producer's URL when --url is not given (e.g. http://producer:8080)
  LLMCONV_API_KEY        its API key when neither --api-key nor --api-key-file is given

exit codes: 0 ok (follow: completed), 1 request failed, 2 usage error,
            3 the conversation (or a followed run's conversations) ended failed, cancelled or timed out,
            130 Ctrl-C while following a run (the run goes on; the hint says how to re-attach)
`;

export interface CliIo {
  stdout: FollowOutput & { isTTY?: boolean };
  stderr: FollowOutput;
  fetch?: typeof globalThis.fetch;
  /** Where LLMCONV_URL and LLMCONV_API_KEY are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

class UsageError extends Error {}

const positiveInt = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
  return Number(v);
};

const CLI_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  'api-key-file': { type: 'string' },
  turns: { type: 'string' },
  follow: { type: 'boolean' },
  out: { type: 'string' },
  limit: { type: 'string' },
  'max-active': { type: 'string' },
  name: { type: 'string' },
  run: { type: 'string' },
  options: { type: 'string' },
  'retry-failed': { type: 'boolean' },
  'new-run': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'max-tokens': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  format: { type: 'string' },
  assistant: { type: 'string' },
  status: { type: 'string' },
  'stop-reason': { type: 'string' },
  filter: { type: 'string', multiple: true },
  metadata: { type: 'boolean' },
  weights: { type: 'string' },
  license: { type: 'string' },
  language: { type: 'string' },
  score: { type: 'string' },
  pairs: { type: 'string' },
  'min-margin': { type: 'string' },
  'at-turn': { type: 'string' },
  model: { type: 'string' },
  'local-model': { type: 'string' },
  temperature: { type: 'string' },
  persona: { type: 'string' },
  system: { type: 'string' },
  before: { type: 'string' },
} as const;

const parseCliArgs = (argv: string[]) => parseArgs({ args: argv, allowPositionals: true, options: CLI_OPTIONS });

/** Runs one command; resolves to the process exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(argv);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || !command || command === 'help') {
    (values.help || command === 'help' ? io.stdout : io.stderr).write(HELP);
    return values.help || command === 'help' ? 0 : 2;
  }

  try {
    const env = io.env ?? process.env;
    // A flag wins over the environment, the environment over the default (the local stack).
    let apiKey = values['api-key'] ?? (env.LLMCONV_API_KEY || undefined);
    if (values['api-key-file']) apiKey = (await fs.readFile(values['api-key-file'], 'utf8')).trim();
    const urlFrom: UrlSource = values.url !== undefined ? 'flag' : env.LLMCONV_URL ? 'env' : 'default';
    const url = values.url ?? (env.LLMCONV_URL || DEFAULT_URL);
    try {
      new URL(url);
    } catch {
      throw new UsageError(`${urlFrom === 'env' ? 'LLMCONV_URL' : '--url'} must be a URL like ${DEFAULT_URL}, got "${url}"`);
    }
    const api = new ApiClient({ url, urlFrom, apiKey, fetch: io.fetch });
    // The options to repeat in a hint to run another llmconv command (never the key itself).
    const connection = `${values.url ? ` --url ${values.url}` : ''}${values['api-key-file'] ? ` --api-key-file ${values['api-key-file']}` : values['api-key'] ? ' --api-key <key>' : ''}`;
    const runClient = () => new RunClient({ url, urlFrom, apiKey, fetch: io.fetch });
    const needId = () => {
      if (args.length !== 1)
        throw new UsageError(`${command} needs exactly one ${command === 'follow' ? 'conversation or run' : 'conversation'} id`);
      return args[0]!;
    };
    const follow = async (id: string) => {
      const end = await followConversation(api, id, io.stdout, { tty: Boolean(io.stdout.isTTY) });
      return end.status === 'completed' ? 0 : 3;
    };

    /** The worst-case cost of a seed file (`estimate`, `run --dry-run`): nothing is spent. */
    const estimate = async (file: string): Promise<number> => {
      const seeds = parseSeedLines(await fs.readFile(file, 'utf8'));
      if (seeds.length === 0) throw new UsageError(`${file} holds no seeds (one per line: JSON {"initialQuery": ...} or plain text)`);
      const turns = positiveInt('turns', values.turns);
      const maxTokens = positiveInt('max-tokens', values['max-tokens']);
      const e = await api.estimate({ seeds, ...(turns ? { turns } : {}), ...(maxTokens ? { maxTokens } : {}) });
      const a = e.assumptions;
      io.stdout.write(
        `${e.conversations} conversation(s), up to ${e.calls} model calls (${a.turns} turns, maxTokens ${a.maxTokens}, ${a.contextTurns} turns of history)\n` +
          `worst case: ${e.inputTokens} input + ${e.outputTokens} output tokens\n` +
          `prompt caching: ${a.cache}\n` +
          `cost at most: ${formatUsd(e.totalUsd)} (cloud ${a.cloudModel}: ${formatUsd(e.cloudUsd)}, local ${a.localModel}: ${formatUsd(e.localUsd)})\n` +
          (e.unpricedModels.length ? `no price for ${e.unpricedModels.join(', ')}: set it in the producer's MODEL_CATALOG_FILE\n` : '') +
          (e.warnings ?? []).map((w) => `warning: ${w}\n`).join(''),
      );
      return 0;
    };
    switch (command) {
      case 'submit': {
        if (args.length !== 1 || !args[0]!.trim()) throw new UsageError('submit needs the opening question as one argument (quote it)');
        const maxTurns = positiveInt('turns', values.turns);
        const res = await api.submit({ initialQuery: args[0], ...(maxTurns ? { maxTurns } : {}) });
        io.stdout.write(`${res.conversationId}\n`);
        for (const w of res.warnings ?? []) io.stderr.write(`warning: ${w}\n`);
        io.stderr.write(
          `  status:     ${api.link(res.statusUrl)}\n  live page:  ${api.link(`/conversations/${res.conversationId}`)}\n  transcript: ${api.link(res.transcriptUrl)}\n`,
        );
        return values.follow ? await follow(res.conversationId) : 0;
      }
      case 'follow': {
        // A conversation id, else a run id (cli/run-commands.ts).
        const id = needId();
        const runs = runClient();
        return await followCommand(runs, id, () => follow(id), io.stderr, Boolean(io.stdout.isTTY), connection);
      }
      case 'fork': {
        const id = needId();
        let body: Record<string, unknown>;
        try {
          body = forkBody({
            atTurn: values['at-turn'],
            model: values.model,
            localModel: values['local-model'],
            temperature: values.temperature,
            persona: values.persona,
            system: values.system,
            turns: values.turns,
            options: values.options,
          });
        } catch (err) {
          throw err instanceof ForkUsageError ? new UsageError(err.message) : err;
        }
        const res = await api.fork(id, body);
        const report = forkReport(res, (p) => api.link(p));
        io.stdout.write(report.stdout);
        io.stderr.write(report.stderr);
        return values.follow ? await follow(res.conversationId) : 0;
      }
      case 'transcript': {
        const id = needId();
        const csv = await api.transcript(id);
        if (values.out) {
          await fs.writeFile(values.out, csv, 'utf8');
          const rows = Math.max(0, csv.split('\r\n').filter(Boolean).length - 1);
          io.stderr.write(`wrote ${values.out} (${rows} row${rows === 1 ? '' : 's'})\n`);
        } else {
          io.stdout.write(csv);
        }
        return 0;
      }
      case 'list': {
        const rows = await api.list(positiveInt('limit', values.limit) ?? 20);
        if (rows.length === 0) {
          io.stdout.write('no conversations yet\n');
          return 0;
        }
        const table = rows.map((r) => [
          r.conversationId,
          r.status + (r.stopReason && r.status !== 'completed' ? ` (${r.stopReason})` : ''),
          `${r.turnsCompleted}/${r.maxTurns}`,
          r.createdAt.replace('T', ' ').slice(0, 19),
          r.initialQuery.replace(/\s+/g, ' ').slice(0, 50),
        ]);
        const head = ['ID', 'STATUS', 'TURNS', 'CREATED (UTC)', 'QUESTION'];
        const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
        for (const row of [head, ...table])
          io.stdout.write(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
        return 0;
      }
      case 'export': {
        if (args.length !== 1) throw new UsageError('export needs exactly one run id or name');
        await exportCommand(
          api,
          await runClient().resolve(args[0]!),
          {
            format: values.format ?? 'openai',
            assistant: values.assistant,
            status: values.status,
            stopReason: values['stop-reason'],
            filter: values.filter,
            out: values.out,
            ...(values.metadata ? { metadata: true } : {}),
            ...(values.weights ? { weights: values.weights } : {}),
            ...(values.license ? { license: values.license } : {}),
            ...(values.language ? { language: values.language } : {}),
            ...(values.score ? { score: values.score } : {}),
            ...(values.pairs ? { pairs: values.pairs } : {}),
            ...(values['min-margin'] !== undefined ? { minMargin: values['min-margin'] } : {}),
          },
          { stdout: io.stdout, stderr: io.stderr, tty: Boolean(io.stdout.isTTY) && Boolean(values.out) },
        );
        return 0;
      }
      // Runs (cli/run-commands.ts).
      case 'run':
      case 'runs': {
        const runs = runClient();
        if (command === 'runs') return await runsCommand(runs, positiveInt('limit', values.limit) ?? 20, io.stdout);
        if (args.length !== 1) throw new UsageError('run needs exactly one seed file (.jsonl, .txt or .csv)');
        // --dry-run: what the run would cost at most, from the price table; nothing is submitted.
        if (values['dry-run']) return await estimate(args[0]!);
        let options: Record<string, unknown> | undefined;
        if (values.options !== undefined) {
          try {
            options = JSON.parse(values.options) as Record<string, unknown>;
          } catch {
            throw new UsageError(`--options must be a JSON object, got "${values.options.slice(0, 80)}"`);
          }
        }
        await fs.access(args[0]!).catch(() => {
          throw new UsageError(`cannot read seed file "${args[0]}"`);
        });
        return await runCommand(
          runs,
          args[0]!,
          {
            turns: positiveInt('turns', values.turns),
            maxActive: positiveInt('max-active', values['max-active']),
            name: values.name,
            runId: values.run,
            retryFailed: values['retry-failed'],
            newRun: values['new-run'],
            options,
            follow: values.follow,
            tty: Boolean(io.stdout.isTTY),
            connection,
          },
          io.stdout,
          io.stderr,
        );
      }
      case 'prune': {
        if (args.length) throw new UsageError('prune takes no positional arguments: --before <date> and/or --run <id>');
        if (values.before === undefined && values.run === undefined) throw new UsageError('prune needs --before <date> or --run <id>');
        const r = await api.prune({ before: values.before, run: values.run });
        io.stdout.write(
          `removed ${r.removed} archived conversation(s) and ${r.transcriptsRemoved} transcript(s)` +
            (r.transcriptsLeft ? `; ${r.transcriptsLeft} transcript(s) left (on another host, or already gone)` : '') +
            '\n',
        );
        return 0;
      }
      case 'estimate': {
        if (args.length !== 1) throw new UsageError('estimate needs the seeds file');
        return await estimate(args[0]!);
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n\n${HELP}`);
      return 2;
    }
    io.stderr.write(`llmconv: ${err instanceof ApiError ? err.message : ((err as Error).stack ?? String(err))}\n`);
    return 1;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`llmconv: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
