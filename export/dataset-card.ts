/**
 * The `README.md` dataset card of an `hf` export, rendered from what the export saw and the run's
 * own record, never written by hand: the YAML header the Hugging Face Hub reads (license,
 * language, task_categories, size_categories, annotations_creators, configs with data_files; the
 * fields of https://github.com/huggingface/hub-docs/blob/main/datasetcard.md and
 * https://huggingface.co/docs/hub/datasets-manual-configuration), then how the data was made:
 * models, prompts and templates, run settings, the judge's rubric, prices and where they were read
 * (with the date), counts, stop reasons and cost. No I/O: {@link CardTally} counts rows as the
 * export writes them, {@link renderDatasetCard} renders the card at the end.
 */
import { stringify } from 'yaml';
import { baseModelId, SHIPPED_CATALOG } from '../shared/model-catalog';
import { priceOf, roundUsd, type PriceTable } from '../cost/price-table';
import type { Rubric } from '../judge/rubric';
import type { RunState } from '../store/interfaces';
import type { ExportOptions } from './export-options';
import type { ExportStats } from './export-stream';
import type { ParquetRow } from './parquet-rows';
import type { Provenance } from './conversation-lines';

/** Distinct values kept per tally (the rest are counted as "others"). */
const KEEP = 20;

/** Counts of distinct values, at most {@link KEEP} of them; the rest summed in `others`. */
class Counter {
  readonly counts = new Map<string, number>();
  others = 0;
  add(key: string): void {
    const n = this.counts.get(key);
    if (n !== undefined) this.counts.set(key, n + 1);
    else if (this.counts.size < KEEP) this.counts.set(key, 1);
    else this.others++;
  }
  sorted(): [string, number][] {
    return [...this.counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  }
}

/** What the card says about the rows, counted as they are written. */
export class CardTally {
  rows = 0;
  messages = 0;
  exchanges = 0;
  readonly status = new Counter();
  readonly stopReason = new Counter();
  readonly models = new Counter();
  readonly templates = new Counter();
  readonly systemPrompts = new Counter();
  readonly settings = new Counter();
  readonly tokens = { cloudInput: 0, cloudOutput: 0, localInput: 0, localOutput: 0 };
  readonly cost = { cloud: 0, local: 0, total: 0, unpriced: 0, priced: 0 };
  readonly judge = { scored: 0, unscored: 0, notJudged: 0, sums: new Map<string, { sum: number; n: number }>() };
  firstCreated: number | undefined;
  lastFinished: number | undefined;

  add(row: ParquetRow, p: Provenance, settings: Record<string, unknown>): void {
    this.rows++;
    this.messages += row.messages.length;
    this.exchanges += row.exchanges;
    this.status.add(p.status);
    this.stopReason.add(p.stopReason ?? '(none)');
    this.models.add(`cloud\t${p.cloudModel}`);
    this.models.add(`local\t${p.localModel}`);
    this.templates.add(JSON.stringify(p.templates));
    this.systemPrompts.add(JSON.stringify(p.systemPrompts));
    this.settings.add(JSON.stringify(settings));
    this.tokens.cloudInput += p.tokens.cloudInput;
    this.tokens.cloudOutput += p.tokens.cloudOutput;
    this.tokens.localInput += p.tokens.localInput;
    this.tokens.localOutput += p.tokens.localOutput;
    if (p.costUsd) {
      if (p.costUsd.total === null) this.cost.unpriced++;
      else this.cost.priced++;
      this.cost.cloud = roundUsd(this.cost.cloud + (p.costUsd.cloud ?? 0));
      this.cost.local = roundUsd(this.cost.local + (p.costUsd.local ?? 0));
      this.cost.total = roundUsd(this.cost.total + (p.costUsd.total ?? 0));
    }
    if (p.judge?.status === 'scored' && p.judge.scores) {
      this.judge.scored++;
      for (const [k, v] of Object.entries(p.judge.scores)) {
        const s = this.judge.sums.get(k) ?? { sum: 0, n: 0 };
        s.sum += v;
        s.n++;
        if (this.judge.sums.has(k) || this.judge.sums.size < KEEP) this.judge.sums.set(k, s);
      }
    } else if (p.judge) this.judge.unscored++;
    else this.judge.notJudged++;
    const created = row.created_at.getTime();
    if (this.firstCreated === undefined || created < this.firstCreated) this.firstCreated = created;
    const finished = row.finished_at?.getTime();
    if (finished !== undefined && (this.lastFinished === undefined || finished > this.lastFinished)) this.lastFinished = finished;
  }
}

/** The per-conversation settings the card groups conversations by (what shaped the text). */
export function cardSettingsOf(s: {
  maxTurns: number;
  contextTurns: number;
  temperature?: number;
  maxTokens?: number;
  think?: boolean;
  stopPhrase?: string;
  cloudFallbacks?: string[];
  quality?: unknown;
}): Record<string, unknown> {
  const out: Record<string, unknown> = { maxTurns: s.maxTurns, contextTurns: s.contextTurns };
  if (s.temperature !== undefined) out.temperature = s.temperature;
  if (s.maxTokens !== undefined) out.maxTokens = s.maxTokens;
  if (s.think) out.think = true;
  if (s.stopPhrase !== undefined) out.stopPhrase = s.stopPhrase;
  if (s.cloudFallbacks?.length) out.cloudFallbacks = s.cloudFallbacks;
  if (s.quality !== undefined) out.quality = s.quality;
  return out;
}

/** Hugging Face's size category of `n` examples. */
export function sizeCategory(n: number): string {
  const steps: [number, string][] = [
    [1e3, 'n<1K'],
    [1e4, '1K<n<10K'],
    [1e5, '10K<n<100K'],
    [1e6, '100K<n<1M'],
    [1e7, '1M<n<10M'],
    [1e8, '10M<n<100M'],
    [1e9, '100M<n<1B'],
  ];
  for (const [limit, name] of steps) if (n < limit) return name;
  return '1B<n<10B';
}

export interface CardContext {
  /** The dataset's title: the run's name, else its id. */
  title: string;
  runId: string | null;
  run: RunState | null;
  opts: ExportOptions;
  stats: ExportStats;
  /** The data files, relative to the card. */
  files: string[];
  /** The glob the card's `configs` names for the train split. */
  dataGlob: string;
  prices: PriceTable;
  pricesFile?: string;
  modelCatalogFile?: string;
  rubric?: Rubric;
  rubricFile?: string;
  exportedAt: Date;
}

/** A fence longer than any run of backticks in `text`. */
function fenced(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

const cell = (s: string | number) => String(s).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
const usd = (n: number) => `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 4)}`;
const pct = (n: number, of: number) => (of === 0 ? '' : ` (${((100 * n) / of).toFixed(1)} %)`);

/** Where the price of `model` on `side` comes from, with its date. */
function priceSource(model: string, side: 'cloud' | 'local', ctx: CardContext): string {
  const p = priceOf(model, side, ctx.prices);
  if (!p) return 'no price known: cost unknown (null)';
  const figure = `$${p.inputPer1k} in / $${p.outputPer1k} out per 1,000 tokens`;
  if (ctx.prices.models.has(baseModelId(model))) return `${figure}, PRICES_FILE${ctx.pricesFile ? ` (${ctx.pricesFile})` : ''}`;
  if (side === 'local') return `${figure}, the local figure (PRICES_FILE "local", else 0)`;
  const catalog = ctx.prices.catalog ?? SHIPPED_CATALOG;
  const row = catalog.lookup(model);
  const where =
    catalog === SHIPPED_CATALOG
      ? 'the shipped model catalogue'
      : `MODEL_CATALOG_FILE${ctx.modelCatalogFile ? ` (${ctx.modelCatalogFile})` : ''}`;
  return `${figure}, ${where}, row "${row?.family ?? '?'}" read on ${row?.readOn ?? '?'}`;
}

/** The card: YAML header and Markdown body. */
export function renderDatasetCard(ctx: CardContext, t: CardTally): string {
  const { opts, stats, run } = ctx;
  const header: Record<string, unknown> = { license: ctx.opts.license };
  if (opts.language.length) header.language = opts.language;
  Object.assign(header, {
    pretty_name: ctx.title,
    task_categories: ['text-generation'],
    tags: ['synthetic', 'conversational', 'llmconv'],
    size_categories: [sizeCategory(t.rows)],
    annotations_creators: ['machine-generated'],
    language_creators: ['machine-generated'],
    source_datasets: ['original'],
    configs: [{ config_name: 'default', data_files: [{ split: 'train', path: ctx.dataGlob }] }],
  });
  const out: string[] = [`---\n${stringify(header, { lineWidth: 0 })}---`, ''];
  out.push(`# ${ctx.title}`, '');
  out.push(
    `${t.rows} conversations between two language models, generated by an llmconv run` +
      `${ctx.runId ? ` (\`${ctx.runId}\`)` : ''} and exported ${ctx.exportedAt.toISOString()}. ` +
      `In \`messages\` the ${opts.assistant} model plays the assistant. The text is machine-generated and was not reviewed by people.`,
    '',
  );
  if (opts.license === 'other')
    out.push(
      'No license was chosen at export (`license=<id>` on the export sets one); the terms of the models that wrote the text apply to it.',
      '',
    );
  if (!opts.language.length) out.push('The language was not stated at export (`language=en,…` sets it).', '');
  out.push(
    '## Loading',
    '',
    fenced(
      `from datasets import load_dataset\n\nds = load_dataset("parquet", data_files="${ctx.dataGlob}", split="train")\nds[0]["messages"]  # [{"role": ..., "content": ...}, ...]`,
      'python',
    ),
    '',
    `Files: ${ctx.files.map((f) => `\`${f}\``).join(', ')}. One row per conversation; \`messages\` is a list of \`{role, content}\` (system first when there is one), the conversational form TRL's trainers read; the other columns are its provenance: \`conversation_id\`, \`run_id\`, \`seed_hash\`, \`assistant\`, \`status\`, \`stop_reason\`, \`cloud_model\`, \`local_model\`, \`exchanges\`, \`turns\`, the token counts, \`cost_usd\`, \`judge_scores\` (JSON), \`meta\` (the seed's, JSON), \`created_at\`, \`finished_at\` and \`provenance\` (JSON: every step's model, tokens, latency, stop reason).`,
    '',
  );

  out.push('## How it was generated', '', '### Models', '');
  out.push(
    table(
      ['side', 'model', 'conversations', 'price and its source'],
      t.models.sorted().map(([k, n]) => {
        const [side, model] = k.split('\t') as ['cloud' | 'local', string];
        return [side, `\`${model}\``, n, priceSource(model, side, ctx)];
      }),
    ),
    '',
  );
  if (t.models.others) out.push(`…and ${t.models.others} more conversation-model pairs.`, '');

  out.push('### Prompts and templates', '');
  for (const [json, n] of t.systemPrompts.sorted()) {
    const sp = JSON.parse(json) as { cloud?: string; local?: string };
    out.push(`System prompts of ${n} conversation(s):`, '');
    if (sp.cloud === undefined && sp.local === undefined) out.push('- none', '');
    if (sp.cloud !== undefined) out.push('- cloud:', '', fenced(sp.cloud), '');
    if (sp.local !== undefined) out.push('- local:', '', fenced(sp.local), '');
  }
  for (const [json, n] of t.templates.sorted()) {
    const tp = JSON.parse(json) as { followUp: string; nextQuery: string };
    out.push(
      `Templates of ${n} conversation(s) (\`followUp\`: the local model's prompt; \`nextQuery\`: the next question to the cloud model):`,
      '',
    );
    out.push('- followUp:', '', fenced(tp.followUp), '', '- nextQuery:', '', fenced(tp.nextQuery), '');
  }
  if (t.templates.others || t.systemPrompts.others)
    out.push(`(${t.templates.others + t.systemPrompts.others} more conversations had other prompts.)`, '');

  out.push('### Run settings', '');
  if (run) {
    const s = run.settings
      ? fenced(JSON.stringify(run.settings, null, 2), 'json')
      : 'the run kept no settings (it predates runs keeping them)';
    out.push(
      `Run \`${ctx.runId ?? run.id}\`${run.name ? ` ("${run.name}")` : ''}, created ${new Date(run.createdAt).toISOString()}, ${run.state}, max ${run.maxActive} conversations at once. Its settings:`,
      '',
      s,
      '',
    );
  }
  out.push(
    table(
      ['conversations', 'settings'],
      t.settings.sorted().map(([json, n]) => [n, `\`${json}\``]),
    ),
    '',
  );

  out.push('### Judge rubric', '');
  if (ctx.rubric) {
    const r = ctx.rubric;
    out.push(
      `JUDGE_RUBRIC_FILE${ctx.rubricFile ? ` (\`${ctx.rubricFile}\`)` : ''}: scores ${r.scale.min}–${r.scale.max}, judged by the ${r.side} side${r.model ? ` with \`${r.model}\`` : ''}.`,
      '',
      table(
        ['criterion', 'description', 'mean in this export'],
        r.criteria.map((c) => {
          const s = t.judge.sums.get(c.name);
          return [c.name, c.description, s ? (s.sum / s.n).toFixed(2) : ''];
        }),
      ),
      '',
      'The judging prompt:',
      '',
      fenced(r.prompt),
      '',
    );
  } else out.push('No rubric was configured (JUDGE_RUBRIC_FILE unset) when this was exported.', '');
  out.push(`Scored ${t.judge.scored}, unscored ${t.judge.unscored}, not judged ${t.judge.notJudged}.`, '');

  out.push('## Counts', '');
  out.push(
    table(
      ['', 'conversations'],
      [
        ['in the export (rows)', t.rows],
        ['read', stats.seen],
        ['left out by the filters', stats.filtered],
        ['without a usable exchange', stats.empty],
        ['gone (expired)', stats.missing],
      ],
    ),
    '',
    `Messages ${t.messages}, exchanges ${t.exchanges}; tokens: cloud ${t.tokens.cloudInput} in / ${t.tokens.cloudOutput} out, local ${t.tokens.localInput} in / ${t.tokens.localOutput} out.` +
      (t.firstCreated === undefined
        ? ''
        : ` Created from ${new Date(t.firstCreated).toISOString()}${t.lastFinished === undefined ? '' : `, finished by ${new Date(t.lastFinished).toISOString()}`}.`),
    '',
    table(
      ['status', 'conversations'],
      t.status.sorted().map(([k, n]) => [k, `${n}${pct(n, t.rows)}`]),
    ),
    '',
  );
  if (run)
    out.push(
      `The run: ${run.seeds} seeds, ${run.duplicates} duplicates, ${run.rejected} rejected lines, ${run.admitted} admitted, ${run.active} active, ${run.waiting} waiting; finished by status ${JSON.stringify(run.byStatus)}.`,
      '',
    );
  out.push(
    '## Stop reasons',
    '',
    table(
      ['stop reason', 'conversations'],
      t.stopReason.sorted().map(([k, n]) => [k, `${n}${pct(n, t.rows)}`]),
    ),
    '',
  );

  out.push('## Cost', '');
  out.push(
    `What the conversations in this export cost at the prices above: cloud ${usd(t.cost.cloud)}, local ${usd(t.cost.local)}, total ${usd(t.cost.total)}` +
      (t.cost.unpriced ? ` (${t.cost.unpriced} conversations with a model without a price are left out of the sum).` : '.'),
    '',
  );
  if (run?.budget)
    out.push(`The run's budget booked ${usd(run.budget.spentUsdNano / 1e9)} and ${run.budget.spentTokens} tokens in all.`, '');

  out.push('## Export', '');
  const filters: string[] = [`status in ${[...opts.statuses].join(', ')}`];
  if (opts.stopReasons) filters.push(`stop reason in ${[...opts.stopReasons].join(', ')}`);
  for (const f of opts.scoreFilters ?? []) filters.push(`score.${f.criterion} ${f.op} ${f.value}`);
  out.push(`Assistant: ${opts.assistant}. Filters: ${filters.join('; ')}.`, '');
  return `${out.join('\n').trimEnd()}\n`;
}
