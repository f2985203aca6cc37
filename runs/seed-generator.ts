/**
 * Seeds from a generator instead of a file (`POST /runs` with `{"generator": {...}, ...settings}`):
 * `count` seeds from personas × topics (× goals), inline lists or files under SAMPLER_DIR, in an
 * order fixed by `seed`. The same generator gives the same seeds (each seed's `id` is its index,
 * so its hash and its conversation id are the same too), so appending it again adds nothing, and
 * `count` beyond personas × topics repeats pairs as distinct seeds. Seeds are yielded one at a
 * time (the pair order is an affine permutation of the index, never a shuffled list in memory).
 *
 * Each seed: `initialQuery` the topic, `persona` and `goal` when given, `id` `g<seed>-<index>`,
 * and `meta.generator` naming the seed, index and list positions (provenance in exports).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { describeIssues } from '../conversation/conversation-request';
import { ValidationError } from '../shared/errors';
import type { RawSeed } from './seed-reader';

/** The most seeds one generator may ask for (RUN_MAX_SEEDS still caps what a run holds). */
export const GENERATOR_MAX_COUNT = 1_000_000;
/** The most entries of one list (inline or from a file). */
export const GENERATOR_MAX_LIST = 100_000;

const fileRef = z.strictObject({ file: z.string().min(1).max(512) });
const personaItem = z.union([
  z.string().min(1).max(2000),
  z.strictObject({
    role: z.string().max(500).optional(),
    expertise: z.string().max(500).optional(),
    style: z.string().max(500).optional(),
    language: z.string().max(500).optional(),
  }),
]);
const list = <T extends z.ZodType>(item: T) => z.union([z.array(item).min(1).max(GENERATOR_MAX_LIST), fileRef]);

export const generatorSchema = z.strictObject({
  personas: list(personaItem).optional(),
  topics: list(z.string().trim().min(1).max(4000)),
  goals: list(z.string().trim().min(1).max(2000)).optional(),
  count: z.number().int().min(1).max(GENERATOR_MAX_COUNT),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
});

export type GeneratorSpec = z.infer<typeof generatorSchema>;
type Persona = z.infer<typeof personaItem>;

/** A checked generator, its lists read: what {@link generatedSeeds} walks. */
export interface SeedGenerator {
  personas?: Persona[];
  topics: string[];
  goals?: string[];
  count: number;
  seed: number;
}

/** mulberry32: a small seeded PRNG (32-bit state), the same numbers for the same seed everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** A permutation of 0..m-1 picked by `rand`: i → (a·i + b) mod m with a coprime to m. */
function affinePermutation(m: number, rand: () => number): (i: number) => number {
  if (m <= 1) return () => 0;
  let a = 1 + Math.floor(rand() * (m - 1));
  while (gcd(a, m) !== 1) a = (a % (m - 1)) + 1;
  const b = Math.floor(rand() * m);
  // a·i may pass 2^53 for large m: multiply in BigInt only then.
  return m * m < Number.MAX_SAFE_INTEGER
    ? (i) => (a * (i % m) + b) % m
    : (i) => Number((BigInt(a) * BigInt(i % m) + BigInt(b)) % BigInt(m));
}

/** The seeds of `g`, one at a time. */
export function* generatedSeeds(g: SeedGenerator): Generator<RawSeed> {
  const rand = seededRandom(g.seed);
  const P = g.personas?.length ?? 1;
  const T = g.topics.length;
  const pairOf = affinePermutation(P * T, rand);
  const goalOf = g.goals ? affinePermutation(g.goals.length, rand) : undefined;
  for (let i = 0; i < g.count; i++) {
    const pair = pairOf(i);
    const p = Math.floor(pair / T);
    const t = pair % T;
    const goal = goalOf && g.goals ? goalOf(i % g.goals.length) : undefined;
    const fields: Record<string, unknown> = { initialQuery: g.topics[t] };
    if (g.personas) fields.persona = g.personas[p];
    if (goal !== undefined) fields.goal = g.goals![goal];
    yield {
      line: i + 1,
      fields,
      seedId: `g${g.seed}-${i}`,
      meta: {
        generator: { seed: g.seed, index: i, topic: t, ...(g.personas ? { persona: p } : {}), ...(goal !== undefined ? { goal } : {}) },
      },
    };
  }
}

/** A list's file under SAMPLER_DIR: JSON Lines (each a string, or an object for personas) or plain lines. */
function readList(field: string, ref: { file: string }, dir: string | undefined): unknown[] {
  if (!dir)
    throw new ValidationError(`invalid generator: ${field}.file: reading lists from files needs SAMPLER_DIR set on the producer`, [
      { field: `generator.${field}.file`, problem: 'SAMPLER_DIR is not set' },
    ]);
  const root = path.resolve(dir);
  const file = path.resolve(root, ref.file);
  if (file !== root && !file.startsWith(root + path.sep))
    throw new ValidationError(`invalid generator: ${field}.file: must name a file inside SAMPLER_DIR`, [
      { field: `generator.${field}.file`, problem: 'outside SAMPLER_DIR' },
    ]);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ValidationError(`invalid generator: ${field}.file: "${ref.file}" cannot be read in SAMPLER_DIR`, [
      { field: `generator.${field}.file`, problem: 'cannot be read' },
    ]);
  }
  const out: unknown[] = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (out.length >= GENERATOR_MAX_LIST)
      throw new ValidationError(`invalid generator: ${field}.file: more than ${GENERATOR_MAX_LIST} entries`);
    if (line.startsWith('{') || line.startsWith('"')) {
      try {
        out.push(JSON.parse(line));
        continue;
      } catch {
        throw new ValidationError(`invalid generator: ${field}.file: line ${n + 1} is not valid JSON`, [
          { field: `generator.${field}.file`, problem: `line ${n + 1}: not valid JSON` },
        ]);
      }
    }
    out.push(line);
  }
  return out;
}

/** The generator of a request body, its lists read and checked; a ValidationError names the bad field. */
export function parseGenerator(raw: unknown, samplerDir: string | undefined): SeedGenerator {
  const parsed = generatorSchema.safeParse(raw);
  if (!parsed.success) {
    const { message, details } = describeIssues(parsed.error);
    throw new ValidationError(
      `invalid generator: ${message}`,
      details.map((d) => ({ ...d, field: `generator.${d.field}` })),
    );
  }
  const g = parsed.data;
  const resolved = (field: 'personas' | 'topics' | 'goals', v: unknown[] | { file: string } | undefined) => {
    if (v === undefined || Array.isArray(v)) return v;
    const items = readList(field, v, samplerDir);
    const again = generatorSchema.shape[field].safeParse(items);
    if (!again.success) {
      const { message } = describeIssues(again.error);
      throw new ValidationError(`invalid generator: ${field}.file "${v.file}": ${message}`, [
        { field: `generator.${field}.file`, problem: message },
      ]);
    }
    return again.data as unknown[];
  };
  return {
    ...(g.personas ? { personas: resolved('personas', g.personas) as Persona[] } : {}),
    topics: resolved('topics', g.topics) as string[],
    ...(g.goals ? { goals: resolved('goals', g.goals) as string[] } : {}),
    count: g.count,
    seed: g.seed,
  };
}
