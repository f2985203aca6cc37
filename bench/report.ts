/**
 * The benchmark's output: the flat result keys CI and BENCHMARKS.md read (`bench/results/latest.json`)
 * plus the raw figures under `context`, and the Markdown table printed at the end of a run.
 */
import { round } from './stats';

/** The headline keys; every one is a number (null only when its measurement failed). */
export const RESULT_KEYS = [
  'redis_rtt_ms_p50',
  'bullmq_hop_ms_p50',
  'turn_overhead_ms_p50',
  'turn_overhead_ms_p99',
  'throughput_ratio_vs_direct',
  'redis_cpu_us_per_turn',
  'redis_cpu_ratio_vs_chain',
  'local_saturation',
  'scaling_2x',
  'scaling_4x',
  'producer_ratio_vs_koa',
  'redis_bytes_per_conversation',
  'export_conversations_per_sec',
  'export_peak_rss_mb',
  'export_parquet_ratio_vs_jsonl',
  'export_parquet_peak_rss_mb',
  'export_parquet_rss_ratio',
  'runs_ingest_seeds_per_sec',
  'runs_ingest_ratio_vs_addbulk',
  'runs_ingest_ratio_vs_posts',
  'runs_bytes_per_waiting_seed',
  'runs_generator_ingest_ratio',
  'runs_admission_ratio',
  'pool_saturation',
  'pool_slots_exceeded',
  'quota_achieved_share',
  'quota_throttled_share',
  'cost_per_1k_conversations_usd',
  'cost_per_1k_conversations_usd_uncached',
  'cache_cost_ratio_10_turns',
  'cache_cost_ratio_20_turns',
  'cache_cost_floor_10_turns',
  'local_prompt_eval_ratio',
  'fork_round_trips_per_shared_turn',
  'dedup_conversations_per_sec',
  'dedup_recall',
  'archive_redis_memory_ratio_10k_1k',
  'archive_write_ms_cpu',
  'archive_export_ratio',
  'archive_pipeline_throughput_ratio',
  'cluster_master_share_min',
  'cluster_master_share_max',
  'cluster_redis_cpu_us_per_turn',
  'cluster_cpu_ratio_vs_single',
  'cluster_cpu_ratio_vs_chain',
] as const;
export type ResultKey = (typeof RESULT_KEYS)[number];

export type BenchResults = Record<ResultKey, number | null> & { context: Record<string, unknown> };

interface Row {
  key: ResultKey;
  label: string;
  unit: string;
  /** Target, as text, and the check (undefined: a floor, no target). */
  target?: string;
  met?: (v: number, r: BenchResults) => boolean;
  digits: number;
}

const hops = (r: BenchResults) => (r.turn_overhead_ms_p50 ?? Number.NaN) / (r.bullmq_hop_ms_p50 ?? Number.NaN);

const ROWS: Row[] = [
  { key: 'redis_rtt_ms_p50', label: 'Redis PING round trip, p50', unit: 'ms', digits: 3 },
  { key: 'bullmq_hop_ms_p50', label: 'BullMQ hop (add → processor starts), p50', unit: 'ms', digits: 3 },
  {
    key: 'turn_overhead_ms_p50',
    label: 'Turn overhead vs direct loop, p50',
    unit: 'ms',
    target: '≤ 1 ms and ≤ 4 hops',
    met: (v, r) => v <= 1 && hops(r) <= 4,
    digits: 2,
  },
  { key: 'turn_overhead_ms_p99', label: 'Turn overhead vs direct loop, p99', unit: 'ms', digits: 2 },
  {
    key: 'throughput_ratio_vs_direct',
    label: 'Throughput ÷ direct loop (instant emulators)',
    unit: '×',
    target: '≥ 0.6',
    met: (v) => v >= 0.6,
    digits: 3,
  },
  { key: 'redis_cpu_us_per_turn', label: "redis-server's CPU per pipeline turn (INFO cpu, instant emulators)", unit: 'µs', digits: 0 },
  { key: 'redis_cpu_ratio_vs_chain', label: "redis-server's CPU per turn, pipeline ÷ bare BullMQ chain", unit: '×', digits: 2 },
  {
    key: 'local_saturation',
    label: 'Local model slots busy while work is queued',
    unit: '',
    target: '≥ 0.97',
    met: (v) => v >= 0.97,
    digits: 3,
  },
  { key: 'scaling_2x', label: '2 worker processes ÷ 1 (50 ms emulators)', unit: '×', target: '≥ 1.9', met: (v) => v >= 1.9, digits: 2 },
  { key: 'scaling_4x', label: '4 worker processes ÷ 1 (50 ms emulators)', unit: '×', target: '≥ 3.6', met: (v) => v >= 3.6, digits: 2 },
  {
    key: 'producer_ratio_vs_koa',
    label: 'POST /conversation req/s ÷ bare Koa',
    unit: '×',
    target: '≥ 0.5',
    met: (v) => v >= 0.5,
    digits: 3,
  },
  {
    key: 'redis_bytes_per_conversation',
    label: 'Redis bytes per finished 5-turn conversation (text out)',
    unit: 'B',
    target: '≤ 2048 B, flat 1k → 10k',
    met: (v) => v <= 2048,
    digits: 0,
  },
  { key: 'export_conversations_per_sec', label: 'Run export, OpenAI JSONL over HTTP (3-turn conversations)', unit: 'conv/s', digits: 0 },
  { key: 'export_peak_rss_mb', label: 'Run export, peak RSS of the exporting process', unit: 'MB', digits: 0 },
  {
    key: 'export_parquet_ratio_vs_jsonl',
    label: 'Run export, Parquet conv/s ÷ OpenAI JSONL conv/s (20,000 conversations)',
    unit: '×',
    target: '≥ 0.8',
    met: (v) => v >= 0.8,
    digits: 3,
  },
  { key: 'export_parquet_peak_rss_mb', label: 'Parquet export, peak RSS at 20,000 conversations', unit: 'MB', digits: 0 },
  {
    key: 'export_parquet_rss_ratio',
    label: 'Parquet export, peak RSS at 20,000 ÷ at 2,000 conversations',
    unit: '×',
    target: '≤ 1.1 (flat)',
    met: (v) => v <= 1.1,
    digits: 3,
  },
  {
    key: 'runs_ingest_seeds_per_sec',
    label: 'Run ingest: seeds/s through one POST /runs',
    unit: '/s',
    target: '≥ 20000',
    met: (v) => v >= 20_000,
    digits: 0,
  },
  { key: 'runs_ingest_ratio_vs_addbulk', label: 'Run ingest ÷ BullMQ addBulk of the same count', unit: '×', digits: 3 },
  {
    key: 'runs_ingest_ratio_vs_posts',
    label: 'Run ingest ÷ one POST /conversation per seed',
    unit: '×',
    target: '≥ 10',
    met: (v) => v >= 10,
    digits: 1,
  },
  {
    key: 'runs_bytes_per_waiting_seed',
    label: 'Redis bytes per waiting seed (text out)',
    unit: 'B',
    target: '≤ 300 B',
    met: (v) => v <= 300,
    digits: 0,
  },
  {
    key: 'runs_generator_ingest_ratio',
    label: 'Run ingest from a generator ÷ the same seeds as an NDJSON upload',
    unit: '×',
    target: '≥ 0.9',
    met: (v) => v >= 0.9,
    digits: 3,
  },
  {
    key: 'runs_admission_ratio',
    label: 'Run (admission control) ÷ one by one, 3-turn conversations',
    unit: '×',
    target: '≥ 0.9',
    met: (v) => v >= 0.9,
    digits: 3,
  },
  {
    key: 'pool_saturation',
    label: 'Pool slots busy while work is queued (hosts of 4 + 2 slots, 3 processes)',
    unit: '',
    target: '≥ 0.97',
    met: (v) => v >= 0.97,
    digits: 3,
  },
  {
    key: 'pool_slots_exceeded',
    label: "Calls above a host's slots (emulator counters)",
    unit: '',
    target: '= 0',
    met: (v) => v === 0,
    digits: 0,
  },
  {
    key: 'quota_achieved_share',
    label: 'Tokens per window achieved ÷ Bedrock TPM quota (3 processes)',
    unit: '×',
    target: '≥ 0.9',
    met: (v) => v >= 0.9,
    digits: 3,
  },
  {
    key: 'quota_throttled_share',
    label: 'Share of cloud calls answered 429 under the quota',
    unit: '',
    target: '≤ 0.01',
    met: (v) => v <= 0.01,
    digits: 4,
  },
  {
    key: 'cost_per_1k_conversations_usd',
    label: '1,000 ten-turn conversations, prompt caching on (Claude Sonnet 4.5, emulator tokens)',
    unit: 'USD',
    digits: 2,
  },
  {
    key: 'cost_per_1k_conversations_usd_uncached',
    label: 'The same, caching off (same prompts)',
    unit: 'USD',
    digits: 2,
  },
  {
    key: 'cache_cost_ratio_10_turns',
    label: 'Cost with caching ÷ without, 10 turns, same prompts',
    unit: '×',
    target: '≤ 0.45',
    met: (v) => v <= 0.45,
    digits: 3,
  },
  {
    key: 'cache_cost_ratio_20_turns',
    label: 'Cost with caching ÷ without, 20 turns, same prompts',
    unit: '×',
    target: '≤ 0.45',
    met: (v) => v <= 0.45,
    digits: 3,
  },
  {
    key: 'cache_cost_floor_10_turns',
    label: 'Output tokens alone ÷ cost without caching, 10 turns (the floor of the ratio above)',
    unit: '×',
    digits: 3,
  },
  {
    key: 'local_prompt_eval_ratio',
    label: 'Local prompt tokens evaluated ÷ sent, 10 turns (Ollama prefix reuse)',
    unit: '×',
    target: '≤ 0.5',
    met: (v) => v <= 0.5,
    digits: 3,
  },
  {
    key: 'fork_round_trips_per_shared_turn',
    label: 'Fork of a 10-turn conversation at turn 8: Redis round trips of copying per shared turn',
    unit: '',
    target: '≤ 2',
    met: (v) => v <= 2,
    digits: 2,
  },
  {
    key: 'dedup_conversations_per_sec',
    label: 'Near-duplicate check: MinHash + LSH, 3-turn conversations',
    unit: 'conv/s',
    target: '≥ 10000',
    met: (v) => v >= 10_000,
    digits: 0,
  },
  {
    key: 'dedup_recall',
    label: 'Near-duplicates found ÷ planted (2% of words changed, DEDUP_THRESHOLD 0.8)',
    unit: '',
    target: '≥ 0.9',
    met: (v) => v >= 0.9,
    digits: 3,
  },
  {
    key: 'archive_redis_memory_ratio_10k_1k',
    label: 'Redis used_memory after 10k ÷ after 1k finished, archived conversations (their grace over)',
    unit: '',
    target: '≤ 1.1',
    met: (v) => v <= 1.1,
    digits: 3,
  },
  {
    key: 'archive_write_ms_cpu',
    label: 'Archive write of a finished 3-turn conversation (SQLite), CPU of the writing process',
    unit: 'ms',
    target: '≤ 2',
    met: (v) => v <= 2,
    digits: 3,
  },
  {
    key: 'archive_export_ratio',
    label: 'OpenAI export conversations/s from the archive ÷ from Redis (same run, byte-identical)',
    unit: '',
    target: '≥ 0.8',
    met: (v) => v >= 0.8,
    digits: 2,
  },
  {
    key: 'archive_pipeline_throughput_ratio',
    label: 'Finished 2-turn conversations/s through the pipeline, archive on (SQLite) ÷ off',
    unit: '',
    target: '≥ 0.9',
    met: (v) => v >= 0.9,
    digits: 2,
  },
  {
    key: 'cluster_master_share_min',
    label: "Redis Cluster, REDIS_SHARDS=3 on 3 masters: the least busy master's share of the commands",
    unit: '',
    target: '≥ 0.25 (0.33 ± 0.08)',
    met: (v) => v >= 1 / 3 - 0.08,
    digits: 3,
  },
  {
    key: 'cluster_master_share_max',
    label: "Redis Cluster, REDIS_SHARDS=3 on 3 masters: the busiest master's share of the commands",
    unit: '',
    target: '≤ 0.41 (0.33 ± 0.08)',
    met: (v) => v <= 1 / 3 + 0.08,
    digits: 3,
  },
  {
    key: 'cluster_redis_cpu_us_per_turn',
    label: "Redis Cluster: the masters' CPU per pipeline turn, summed (INFO cpu, instant emulators)",
    unit: 'µs',
    digits: 0,
  },
  {
    key: 'cluster_cpu_ratio_vs_single',
    label: 'Redis CPU per turn, 3 masters summed ÷ one redis-server (same load, same run)',
    unit: '×',
    target: '≤ 1.1',
    met: (v) => v <= 1.1,
    digits: 2,
  },
  {
    key: 'cluster_cpu_ratio_vs_chain',
    label: 'Redis Cluster: Redis CPU per turn, pipeline ÷ bare BullMQ chain (3 tags each, same cluster)',
    unit: '×',
    digits: 2,
  },
];

/** Rounds the headline values for the JSON file. */
export function roundResults(r: BenchResults): BenchResults {
  const out = { ...r };
  for (const row of ROWS) {
    const v = r[row.key];
    out[row.key] = v === null || !Number.isFinite(v) ? null : round(v, row.digits + 1);
  }
  return out;
}

/** The Markdown table of a run, with per-row notes from `notes`. */
export function renderTable(r: BenchResults, notes: Partial<Record<ResultKey, string>> = {}): string {
  const lines = ['| metric | key | value | target | met | notes |', '|---|---|---:|---|:-:|---|'];
  for (const row of ROWS) {
    const v = r[row.key];
    const value =
      v === null || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(row.digits)}${row.unit && row.unit !== '×' ? ` ${row.unit}` : ''}`;
    const met = row.met === undefined || v === null ? '' : row.met(v, r) ? 'yes' : 'no';
    lines.push(`| ${row.label} | \`${row.key}\` | ${value} | ${row.target ?? 'floor'} | ${met} | ${notes[row.key] ?? ''} |`);
  }
  return lines.join('\n');
}
