/**
 * Runs, framework-free: create or append from a streamed upload, progress views, cancel. Koa
 * routes (producer/routes/runs-routes.ts) are thin wrappers.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Readable } from 'node:stream';
import { PipelineError, RequestBodyError, ValidationError } from '../shared/errors';
import { conversationRequestSchema, describeIssues, parseConversationRequest } from '../conversation/conversation-request';
import { catalogPriced, checkBudgetPriced, checkModelLifecycle } from '../conversation/model-admission';
import { isTerminal, type TurnRecord } from '../conversation/model';
import { jobIds } from '../queue/job-types';
import { defaultOutputFile } from '../store/record-codec';
import type { RunConversationsPage, RunSubmitResult, RunView } from '../api/http-contract';
import type { RefusedBy, RejectedLine, RunState, RunState as StoredRun } from '../store/interfaces';
import { RunAdmission, type RunAdmissionDeps, type SeedPayload } from './run-admission';
import { ConversationEnding } from '../ending/end-conversation';
import { readSeeds, type RawSeed, type SeedFormat } from './seed-reader';
import { ownedRunConversationId, runConversationId, seedHash } from './seed-identity';
import { locateRun, newRunId, publicRunId } from './run-ids';
import { canSee, OWNERLESS_ADMIN, type Caller } from '../shared/caller';
import { canonicalJson } from '../shared/canonical-json';
import { describeDifferences, settingsConflict, settingsDifference } from './run-settings';
import { signature } from '../shared/minhash';
import { describeSeedRef, SeedDedup } from './seed-dedup';
import { personaText } from '../conversation/goal-rules';

/** What a seed's near-duplicate check reads: its question, persona and goal. */
export function seedDedupText(request: Record<string, unknown>): string {
  const persona = request.persona as Parameters<typeof personaText>[0];
  return [String(request.initialQuery ?? ''), personaText(persona), typeof request.goal === 'string' ? request.goal : ''].join(' ');
}

export { publicRunId, QUALIFIED_RUN_ID, storedRunId } from './run-ids';

/** Run-level options: every conversation setting as a default, plus the run's own. */
export interface RunOptions {
  defaults: Record<string, unknown>;
  maxActive?: number;
  name?: string;
  /** Put the run's failed and timed-out conversations back in its backlog (each runs again once). */
  retryFailed?: boolean;
  /** The run's own budget: once its calls cannot be covered, the run stops admitting. */
  runBudget?: { usd?: number; tokens?: number };
  /** An append whose settings differ from the run's starts a new run with them instead of a 409 (runs/run-settings.ts). */
  newRun?: boolean;
  /** Reject seeds that near-duplicate an earlier seed of the same upload (MinHash, DEDUP_THRESHOLD). */
  dedup?: boolean;
}

export class RunNotFoundError extends PipelineError {
  constructor(id: string) {
    super(`no run with id "${id}"`, { code: 'not_found', status: 404 });
    this.name = 'RunNotFoundError';
  }
}

/** Seeds written to Redis per round trip. */
const BATCH = 500;
/** Rejected lines echoed in the upload's answer. */
const ECHO_REJECTED = 20;

/** RUN_MAX_ACTIVE_LIMIT's default (shared/config.ts): conversations in flight hold records and jobs in Redis. */
const DEFAULT_MAX_ACTIVE_LIMIT = 1000;

const RUN_KEYS = new Set(['maxActive', 'name', 'retryFailed', 'runBudget', 'newRun', 'dedup']);
const NUMBER_KEYS = new Set([
  'maxTurns',
  'timeoutMinutes',
  'temperature',
  'maxTokens',
  'contextTurns',
  'maxActive',
  'branches',
  'branchAt',
]);

/** The `Run-Options` header's JSON object; a ValidationError when it is not one. */
export function parseRunOptionsHeader(header: string): Record<string, unknown> {
  let base: unknown;
  try {
    base = JSON.parse(header);
  } catch {
    throw new ValidationError('Run-Options header is not valid JSON (expected an object of run options)');
  }
  if (typeof base !== 'object' || base === null || Array.isArray(base))
    throw new ValidationError('Run-Options header must be a JSON object');
  return base as Record<string, unknown>;
}

/**
 * Run options from query parameters (scalar settings, `maxActive`, `name`) over a JSON object
 * (the `Run-Options` header: any setting, templates and systemPrompts included). Throws a
 * ValidationError naming the bad option.
 */
export function parseRunOptions(
  query: Record<string, unknown>,
  header: string | undefined,
  maxActiveLimit = DEFAULT_MAX_ACTIVE_LIMIT,
): RunOptions {
  const base = header ? parseRunOptionsHeader(header) : {};
  const merged: Record<string, unknown> = { ...base };
  for (const [k, raw] of Object.entries(query)) {
    if (k === 'run') continue;
    const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (NUMBER_KEYS.has(k)) {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n))
        throw new ValidationError(`invalid run option: ${k}: "${String(v)}" is not a number`, [{ field: k, problem: 'not a number' }]);
      merged[k] = n;
    } else if (k === 'think' || k === 'cache' || k === 'retryFailed' || k === 'newRun' || k === 'dedup')
      merged[k] = ['true', '1', 'yes'].includes(String(v).toLowerCase());
    else merged[k] = v;
  }
  // The run's own budget (its total), apart from `budget`, each conversation's default budget.
  for (const [q, field] of [
    ['runBudgetUsd', 'usd'],
    ['runBudgetTokens', 'tokens'],
  ] as const) {
    if (merged[q] === undefined) continue;
    const n = Number(merged[q]);
    if (merged[q] === '' || !Number.isFinite(n))
      throw new ValidationError(`invalid run option: ${q}: "${String(merged[q])}" is not a number`, [
        { field: q, problem: 'not a number' },
      ]);
    merged.runBudget = { ...(merged.runBudget as object | undefined), [field]: n };
    delete merged[q];
  }
  const { maxActive, name, retryFailed, runBudget, newRun, dedup, ...defaults } = merged;
  const budgetShape = budgetSchema.safeParse(runBudget);
  if (runBudget !== undefined && !budgetShape.success) {
    throw new ValidationError(
      'invalid run option: runBudget: expected {"usd"?: number > 0, "tokens"?: integer > 0} with at least one of them',
      [{ field: 'runBudget', problem: 'usd > 0 and/or tokens > 0' }],
    );
  }
  for (const [field, v] of [
    ['retryFailed', retryFailed],
    ['newRun', newRun],
    ['dedup', dedup],
  ] as const) {
    if (v !== undefined && typeof v !== 'boolean')
      throw new ValidationError(`invalid run option: ${field}: must be true or false`, [{ field, problem: 'must be a boolean' }]);
  }
  if (
    maxActive !== undefined &&
    (typeof maxActive !== 'number' || !Number.isInteger(maxActive) || maxActive < 1 || maxActive > maxActiveLimit)
  ) {
    const problem = `must be an integer 1-${maxActiveLimit} (RUN_MAX_ACTIVE_LIMIT)`;
    throw new ValidationError(`invalid run option: maxActive: ${problem}`, [{ field: 'maxActive', problem }]);
  }
  if (name !== undefined && (typeof name !== 'string' || name.length > 200)) {
    throw new ValidationError('invalid run option: name: must be a string of at most 200 characters', [
      { field: 'name', problem: 'at most 200 characters' },
    ]);
  }
  if ('initialQuery' in defaults) throw new ValidationError('invalid run option: initialQuery: give it per seed, not as a run default');
  const checked = conversationRequestSchema.safeParse({ ...defaults, initialQuery: 'x' });
  if (!checked.success) {
    const { message, details } = describeIssues(checked.error);
    throw new ValidationError(`invalid run option: ${message}`, details);
  }
  for (const k of RUN_KEYS) delete defaults[k];
  return {
    defaults,
    ...(maxActive !== undefined ? { maxActive: maxActive as number } : {}),
    ...(name !== undefined ? { name: name as string } : {}),
    ...(retryFailed ? { retryFailed: true } : {}),
    ...(newRun ? { newRun: true } : {}),
    ...(dedup ? { dedup: true } : {}),
    ...(runBudget !== undefined && budgetShape.success ? { runBudget: budgetShape.data } : {}),
  };
}

/** A `cloudModel` option (one id or a list) as a list; `fallback` when it is not given. */
function modelList(option: unknown, fallback: string): string[] {
  if (typeof option === 'string') return [option.trim()];
  if (Array.isArray(option) && option.every((m) => typeof m === 'string')) return (option as string[]).map((m) => m.trim());
  return [fallback];
}

const budgetSchema = z
  .strictObject({ usd: z.number().positive().optional(), tokens: z.number().int().positive().optional() })
  .refine((b) => b.usd !== undefined || b.tokens !== undefined);

/** A run view with the ids as `caller` addresses them. */
export function runViewFor(caller: Caller, v: RunView): RunView {
  const id = publicRunId(caller, v.runId);
  return id === v.runId ? v : { ...v, runId: id, ...urls(id) };
}

/** Why seeds were refused, naming the setting and what to do. */
function refusedMessage(by: RefusedBy, runId: string, config: RunAdmissionDeps['config'], fromLine: number | null, shards = 1): string {
  const from = fromLine === null ? 'nothing was added' : `the seeds from line ${fromLine} on were not added`;
  if (by === 'archived')
    return `run ${runId} was finished and archived while this upload was sent; ${from}: send them again with newRun=true to start a new run`;
  if (by === 'run') return `run ${runId} holds RUN_MAX_SEEDS=${config.runMaxSeeds} seeds; ${from}: start another run for them`;
  const cap = by === 'seeds' ? config.backlogMaxSeeds : config.backlogMaxBytes;
  // With REDIS_SHARDS=N each shard holds its share of the cap (store/run-store.ts `shardCap`).
  const share = shards > 1 ? ` (this run's shard holds its share, ${Math.ceil(cap / shards)}: REDIS_SHARDS=${shards})` : '';
  const setting =
    by === 'seeds'
      ? `BACKLOG_MAX_SEEDS=${config.backlogMaxSeeds} waiting seeds${share}`
      : `BACKLOG_MAX_BYTES=${config.backlogMaxBytes} bytes of waiting seeds${share}`;
  return `the backlog of all runs holds ${setting}; ${from}: append them with POST /runs/${runId}/seeds once admission has drained some (duplicates are skipped)`;
}

const urls = (runId: string) => ({
  statusUrl: `/runs/${runId}`,
  eventsUrl: `/runs/${runId}/events`,
  exportUrl: `/runs/${runId}/export`,
  pageUrl: `/runs/${runId}/page`,
});

/** The HTTP view of a run's state. */
export function toRunView(s: RunState, now = Date.now()): RunView {
  const finished = Object.values(s.byStatus).reduce((a, b) => a + b, 0);
  const remaining = s.waiting + s.active;
  const elapsed = Math.max(0.001, ((remaining === 0 ? s.updatedAt : now) - s.createdAt) / 1000);
  const throughput = finished / elapsed;
  const state =
    s.state === 'cancelled'
      ? 'cancelled'
      : remaining === 0 && s.admitted >= s.seeds + s.retried
        ? 'finished'
        : s.budgetExhausted && s.active === 0
          ? 'budget_exhausted'
          : 'active';
  const b = s.budget;
  return {
    runId: s.id,
    name: s.name,
    state,
    settings: s.settings ?? null,
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
    maxActive: s.maxActive,
    seeds: s.seeds,
    duplicates: s.duplicates,
    nearDuplicates: s.nearDuplicates ?? 0,
    rejected: s.rejected,
    waiting: s.waiting,
    admitted: s.admitted,
    active: s.active,
    finished,
    byStatus: s.byStatus,
    byStopReason: s.byStopReason,
    unadmitted: s.unadmitted,
    retried: s.retried,
    tokens: s.tokens,
    costUsd: b ? b.spentUsdNano / 1e9 : null,
    judge: s.judge,
    budget:
      b && (b.limits.usdNano !== undefined || b.limits.tokens !== undefined)
        ? {
            usd: b.limits.usdNano === undefined ? null : b.limits.usdNano / 1e9,
            tokens: b.limits.tokens ?? null,
            spentUsd: b.spentUsdNano / 1e9,
            spentTokens: b.spentTokens,
            exhausted: s.budgetExhausted ?? null,
          }
        : null,
    throughputPerSecond: Math.round(throughput * 100) / 100,
    etaSeconds: remaining === 0 ? 0 : throughput > 0 && state === 'active' ? Math.round(remaining / throughput) : null,
    ...urls(s.id),
  };
}

export class RunService {
  readonly admission: RunAdmission;
  private readonly ending: ConversationEnding;

  constructor(private readonly deps: RunAdmissionDeps) {
    this.admission = new RunAdmission(deps);
    // No logger: a run's cancel ends each of its conversations, one line each would flood the log.
    this.ending = new ConversationEnding({ config: deps.config, store: deps.store, queues: deps.queues, hooks: deps.hooks });
  }

  private get runs() {
    return this.admission.runs;
  }

  /**
   * Reads the upload seed by seed into run `runId` (a new run when undefined; `mustExist` for
   * `POST /runs/:id/seeds`), `BATCH` seeds per Redis round trip, admitting as it goes. With
   * format `generated`, `body` is a generator's seeds (runs/seed-generator.ts) instead of an upload.
   */
  async submit(
    body: Readable | Iterable<RawSeed>,
    format: SeedFormat | 'generated',
    options: RunOptions,
    runId?: string,
    mustExist = false,
    declaredBytes?: number,
    caller: Caller = OWNERLESS_ADMIN,
  ): Promise<RunSubmitResult> {
    const { config } = this.deps;
    // A new run's id on its owner's shard, a named one's found on (or made for) it (runs/run-ids.ts).
    const fresh = runId === undefined ? newRunId(this.runs.shards, caller, randomUUID) : undefined;
    const publicId = runId ?? fresh?.publicId ?? randomUUID();
    const located = fresh ? { id: fresh.id, state: await this.runs.get(fresh.id) } : await locateRun(this.runs, caller, publicId);
    if (located === undefined) {
      throw new ValidationError(`invalid run id "${publicId.slice(0, 80)}": use 1-64 letters, digits, _ or - (not all digits)`);
    }
    const { id, state: existing } = located;
    // Another caller's run is as unknown as a missing one; an admin names other callers' runs only to add to them.
    if ((existing && !canSee(caller, existing.owner)) || ((mustExist || publicId.includes('.')) && !existing))
      throw new RunNotFoundError(publicId);
    // An append runs with the run's settings; one naming others is refused, or starts a new run when asked.
    const diff = existing?.settings ? settingsDifference(existing.settings, options.defaults) : [];
    if (diff.length && !options.newRun) throw settingsConflict(publicId, diff);
    if (diff.length) {
      const fresh = { ...options, newRun: false, name: options.name ?? existing!.name };
      const result = await this.submit(body, format, fresh, undefined, false, declaredBytes, caller);
      return { ...result, requestedRun: publicId, settingsChanged: describeDifferences(diff) };
    }
    if (existing?.settings) options = { ...options, defaults: existing.settings };
    if (existing?.archived !== undefined) {
      if (options.newRun)
        return {
          ...(await this.submit(body, format, { ...options, newRun: false }, undefined, false, declaredBytes, caller)),
          requestedRun: publicId,
        };
      throw new PipelineError(
        `run ${publicId} is finished and archived: nothing can be added to it; pass newRun=true to start a new run with these seeds`,
        { code: 'conflict', status: 409 },
      );
    }
    if (existing?.state === 'cancelled') {
      throw new PipelineError(`run ${publicId} is cancelled; start a new run`, { code: 'conflict', status: 409 });
    }
    // Refused before anything is created or read when the caps are reached already.
    await this.checkRoom(id, publicId, existing?.seeds ?? 0, declaredBytes);
    // The run's cloud models (its default, else the producer's) against the catalogue, before anything is stored.
    const priced = this.deps.priced ?? catalogPriced(config);
    const warnings: string[] = [];
    const runModels = modelList(options.defaults.cloudModel, config.bedrockModelId);
    warnings.push(...checkModelLifecycle(runModels, config, 'cloudModel', 'invalid run option'));
    checkBudgetPriced(runModels, options.runBudget?.usd, priced, 'runBudget.usd', 'invalid run option');
    const created = await this.runs.create(
      id,
      options.name ?? '',
      options.maxActive,
      config.runMaxActive,
      existing ? undefined : caller.id,
      canonicalJson(options.defaults),
    );
    const state = existing ?? (await this.runs.get(id));
    // Two uploads creating the run at once: the one whose create found it runs with the other's settings, or is refused.
    if (!created && !existing && state?.settings) {
      const raced = settingsDifference(state.settings, options.defaults);
      if (raced.length) throw settingsConflict(publicId, raced);
      options = { ...options, defaults: state.settings };
    }
    const secret = state?.ids === 2 && state.owner !== undefined ? await this.runs.idSecret() : undefined;
    const conversationId = (hash: string) =>
      secret ? ownedRunConversationId(secret, state!.owner!, id, hash, this.runs.shards) : runConversationId(id, hash, this.runs.shards);
    // Every run tracks what it spends (and, with `runBudget`, refuses calls beyond it).
    await this.runs.setBudget(id, options.runBudget);
    const retried = options.retryFailed && !created ? await this.retryFailed(id) : 0;
    let accepted = 0;
    let duplicates = 0;
    // Near-duplicates within this upload and of the seeds earlier dedup=true uploads to the run kept
    // (MinHash over word shingles of the question, persona and goal; runs/seed-dedup.ts).
    const near = options.dedup ? new SeedDedup(config.dedupThreshold, created ? null : await this.runs.seedSignatures(id)) : undefined;
    let nearDuplicates = 0;
    let rejectedCount = 0;
    const echoed: RejectedLine[] = [];
    let batch: [string, string][] = [];
    let lines: number[] = [];
    // The MinHash record of each seed of the batch that dedup kept (stored once the seed is added).
    let records: (Buffer | undefined)[] = [];
    let rejected: RejectedLine[] = [];
    // Once a cap refused a seed, no later seed is added (what was added is a prefix of the upload).
    let refused = 0;
    let refusedBy: RefusedBy | undefined;
    let refusedFromLine: number | null = null;
    const caps = { runMaxSeeds: config.runMaxSeeds, backlogMaxSeeds: config.backlogMaxSeeds, backlogMaxBytes: config.backlogMaxBytes };
    // One batch is written while the next is read and checked; batches reach Redis in order.
    let writing: Promise<void> = Promise.resolve();
    const write = async (seeds: [string, string][], at: number[], bad: RejectedLine[], recs: (Buffer | undefined)[]) => {
      const r = refusedBy ? { accepted: 0, duplicates: 0, refused: seeds.length } : await this.runs.addSeeds(id, seeds, caps);
      if (near) {
        // The seeds before the first a cap refused were added (or were there already).
        const added = r.refused ? ('firstRefused' in r ? (r.firstRefused ?? 0) : 0) : seeds.length;
        const kept = recs.slice(0, added).filter((b): b is Buffer => b !== undefined);
        if (kept.length) await this.runs.addSeedSignatures(id, Buffer.concat(kept), config.retentionSeconds);
      }
      accepted += r.accepted;
      duplicates += r.duplicates;
      refused += r.refused;
      if ('why' in r && r.why && !refusedBy) {
        refusedBy = r.why;
        refusedFromLine = at[r.firstRefused ?? 0] ?? null;
      }
      await this.runs.addRejected(id, bad);
      if (r.accepted) await this.admission.fill(id);
    };
    const flush = async () => {
      await writing;
      writing = write(batch, lines, rejected, records);
      batch = [];
      lines = [];
      rejected = [];
      records = [];
    };
    const reject = (line: number, reason: string) => {
      const r = { line, reason: reason.slice(0, 300) };
      rejected.push(r);
      rejectedCount++;
      if (echoed.length < ECHO_REJECTED) echoed.push(r);
    };
    let failure: unknown;
    try {
      const seeds =
        format === 'generated'
          ? (body as Iterable<RawSeed>)
          : readSeeds(body as Readable, format, { maxLineBytes: config.runMaxLineBytes, maxTotalBytes: config.runMaxBodyBytes });
      for await (const seed of seeds) {
        if (seed.error !== undefined) reject(seed.line, seed.error);
        else {
          const request = { ...options.defaults, ...seed.fields };
          try {
            const seedWarnings: string[] = [];
            const s = parseConversationRequest(request, config, 'seed', { warnings: seedWarnings, priced });
            checkBudgetPriced([s.cloudModel, ...(s.cloudFallbacks ?? [])], options.runBudget?.usd, priced, 'runBudget.usd');
            for (const w of seedWarnings) if (!warnings.includes(w) && warnings.length < ECHO_REJECTED) warnings.push(w);
          } catch (err) {
            reject(seed.line, err instanceof ValidationError ? err.message.replace(/^invalid conversation request: /, '') : String(err));
            continue;
          }
          const hash = seedHash(request, seed.seedId);
          let record: Buffer | undefined;
          if (near) {
            const { dup, record: kept } = near.check(seed.line, hash, signature(seedDedupText(request)));
            if (dup) {
              nearDuplicates++;
              reject(
                seed.line,
                `near-duplicate of ${describeSeedRef(dup.of)} (MinHash similarity ${dup.similarity.toFixed(2)} >= DEDUP_THRESHOLD ${config.dedupThreshold})`,
              );
              continue;
            }
            record = kept;
          }
          const meta = seed.seedId !== undefined ? { ...seed.meta, id: seed.meta?.id ?? seed.seedId } : seed.meta;
          const payload: SeedPayload = { r: request, h: hash, ...(meta !== undefined ? { m: meta } : {}) };
          batch.push([conversationId(hash), JSON.stringify(payload)]);
          lines.push(seed.line);
          records.push(record);
        }
        if (batch.length + rejected.length >= BATCH) await flush();
      }
    } catch (err) {
      failure = err;
    }
    // What was read before a failure (limit, dropped connection) stays in the run.
    try {
      await flush();
      await writing;
    } catch (err) {
      failure ??= err;
    }
    if (failure !== undefined) {
      // An upload that created the run and failed before adding a seed leaves no empty run behind.
      if (created && accepted === 0) await this.runs.discardEmpty(id, caller.id);
      throw failure;
    }
    for (const w of warnings)
      this.deps.logger?.warn({ runId: publicId, region: config.awsRegion }, `run accepted with a Legacy model: ${w}`);
    return {
      runId: publicId,
      created,
      accepted,
      duplicates,
      rejected: rejectedCount,
      rejectedLines: echoed,
      retried,
      ...(near ? { nearDuplicates } : {}),
      refused,
      refusedReason: refusedBy ? refusedMessage(refusedBy, publicId, config, refusedFromLine, this.runs.shards.count) : null,
      refusedFromLine,
      ...(warnings.length ? { warnings } : {}),
      ...urls(publicId),
    };
  }

  /**
   * Throws before an upload is read when it cannot add anything: a declared size over
   * RUN_MAX_BODY_BYTES (413), a run holding RUN_MAX_SEEDS (413 `run_full`), a backlog of all runs
   * at BACKLOG_MAX_SEEDS or BACKLOG_MAX_BYTES (429 `backlog_full`, with `Retry-After`; with
   * REDIS_SHARDS=N the run's shard at its share of them, ceil(cap / N)).
   */
  private async checkRoom(runId: string, publicId: string, runSeeds: number, declaredBytes?: number): Promise<void> {
    const { config } = this.deps;
    if (declaredBytes !== undefined && declaredBytes > config.runMaxBodyBytes) {
      throw new RequestBodyError(
        `the upload declares ${declaredBytes} bytes, above RUN_MAX_BODY_BYTES=${config.runMaxBodyBytes}: split it and append the rest with POST /runs/:id/seeds`,
        413,
      );
    }
    if (runSeeds >= config.runMaxSeeds) {
      throw new PipelineError(refusedMessage('run', publicId, config, null), {
        code: 'run_full',
        status: 413,
        details: { setting: 'RUN_MAX_SEEDS', max: config.runMaxSeeds },
      });
    }
    // The run's shard's backlog against its share of each cap (one shard: the whole backlog, the whole cap).
    const totals = await this.runs.shardBacklogTotals(runId);
    const by: RefusedBy | undefined =
      totals.seeds >= this.runs.shardCap(config.backlogMaxSeeds)
        ? 'seeds'
        : totals.bytes >= this.runs.shardCap(config.backlogMaxBytes)
          ? 'bytes'
          : undefined;
    if (by) {
      throw new PipelineError(refusedMessage(by, publicId, config, null, this.runs.shards.count), {
        code: 'backlog_full',
        status: 429,
        retryable: true,
        details: {
          setting: by === 'seeds' ? 'BACKLOG_MAX_SEEDS' : 'BACKLOG_MAX_BYTES',
          waitingSeeds: totals.seeds,
          waitingBytes: totals.bytes,
          retryAfterSeconds: 30,
        },
      });
    }
  }

  /**
   * The stored run `runId` names for `caller`, when the caller may see it; else RunNotFoundError
   * (another caller's run answers exactly like a missing one).
   */
  async resolve(runId: string, caller: Caller = OWNERLESS_ADMIN): Promise<{ id: string; state: StoredRun }> {
    const located = await locateRun(this.runs, caller, runId);
    const s = located?.state ?? null;
    if (!s || !canSee(caller, s.owner)) throw new RunNotFoundError(runId);
    return { id: located!.id, state: s };
  }

  async view(runId: string, withRejected = false, caller: Caller = OWNERLESS_ADMIN): Promise<RunView> {
    const { id, state } = await this.resolve(runId, caller);
    const v = runViewFor(caller, toRunView(state));
    if (withRejected) v.rejectedLines = await this.runs.rejected(id, 100);
    return v;
  }

  /** A page of the run's admitted conversations, in admission order, with their status. */
  /**
   * A page of the run's conversations; `costOf` (the producer's price table, e.g.) adds each one's
   * `costUsd`.
   */
  async conversations(
    publicId: string,
    start: number,
    limit: number,
    caller: Caller = OWNERLESS_ADMIN,
    costOf?: (turns: TurnRecord[]) => number | null,
  ): Promise<RunConversationsPage> {
    const { id: runId } = await this.resolve(publicId, caller);
    const ids = await this.runs.conversations(runId, start, limit);
    const loaded = await Promise.all(ids.map((id) => this.deps.store.getConversation(id)));
    return {
      runId: publicId,
      start,
      conversations: ids.map((id, i) => ({
        conversationId: id,
        status: loaded[i]?.record.status ?? 'expired',
        stopReason: loaded[i]?.record.stopReason ?? null,
        seedHash: loaded[i]?.record.settings.run?.seedHash ?? null,
        turnsCompleted: loaded[i]?.turns.filter((t) => t.cloud && t.local).length ?? 0,
        initialQuery: loaded[i]?.record.settings.initialQuery.slice(0, 120) ?? null,
        ...(costOf ? { costUsd: loaded[i] ? costOf(loaded[i]!.turns) : null } : {}),
        statusUrl: `/conversation/${id}`,
        pageUrl: `/conversations/${id}`,
      })),
      ...(ids.length === limit ? { next: `/runs/${publicId}/conversations?start=${start + limit}&limit=${limit}` } : {}),
    };
  }

  /** The newest runs `caller` may see (its own; an admin's: all). */
  async list(limit = 100, caller: Caller = OWNERLESS_ADMIN): Promise<RunView[]> {
    const out: RunView[] = [];
    const ids = caller.admin ? await this.runs.list(limit) : caller.id === undefined ? [] : await this.runs.list(limit, caller.id);
    for (const id of ids) {
      const s = await this.runs.get(id);
      if (s && canSee(caller, s.owner)) out.push(runViewFor(caller, toRunView(s)));
    }
    return out;
  }

  /**
   * Puts every failed or timed-out conversation of the run whose transcript is written back in
   * the backlog, with the same id and settings: its failed jobs and its record are removed, and it
   * is admitted again like a new seed. Resolves with how many it put back.
   */
  async retryFailed(runId: string): Promise<number> {
    const { store, queues } = this.deps;
    let n = 0;
    for (let start = 0; ; start += 500) {
      const ids = await this.runs.conversations(runId, start, 500);
      if (!ids.length) break;
      for (const cid of ids) {
        const rec = await store.get(cid);
        // Only once its transcript step is done: no job of it may still run.
        if (!rec?.transcriptPath || (rec.status !== 'failed' && rec.status !== 'timed_out') || !rec.settings.run) continue;
        const { run, outputFile, ...settings } = rec.settings;
        const request: Record<string, unknown> = { ...settings };
        if (outputFile !== defaultOutputFile(cid)) request.outputFile = outputFile;
        for (const k of Object.keys(request)) if (request[k] === undefined) delete request[k];
        // Kept jobs (JOB_HISTORY) would make the re-run's adds no-ops: every step's job goes, the judge's too.
        const jobs = [jobIds.transcript(cid), jobIds.judge(cid)];
        for (let k = 1; k <= rec.settings.maxTurns; k++) jobs.push(jobIds.cloud(cid, k), jobIds.local(cid, k));
        await Promise.all(jobs.map((j) => Promise.all(queues.all.map((q) => q.remove(j)))));
        const payload: SeedPayload = { r: request, h: run.seedHash, ...(run.meta !== undefined ? { m: run.meta } : {}) };
        if (await this.runs.retry(runId, cid, JSON.stringify(payload), store.recordKeys(cid))) {
          n++;
          // Ids still in the set shift down by one.
          start--;
        }
      }
    }
    if (n) await this.admission.fill(runId);
    return n;
  }

  /** Stops admission, drops the backlog and cancels every conversation of the run still in flight. */
  async cancel(publicId: string, caller: Caller = OWNERLESS_ADMIN): Promise<RunView> {
    const { id: runId } = await this.resolve(publicId, caller);
    if ((await this.runs.cancel(runId)) < 0) throw new RunNotFoundError(publicId);
    const { store } = this.deps;
    for (let start = 0; ; start += 500) {
      const ids = await this.runs.conversations(runId, start, 500);
      if (!ids.length) break;
      await Promise.all(
        ids.map(async (cid) => {
          const rec = await store.get(cid);
          if (rec && !isTerminal(rec.status)) await this.ending.end(cid, { cause: 'cancelled', error: 'run cancelled' }, { record: rec });
        }),
      );
    }
    return this.view(publicId, false, caller);
  }
}
