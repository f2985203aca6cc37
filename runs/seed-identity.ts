/**
 * A seed's identity in a run: the hash of its normalised text plus its effective settings, and the
 * conversation id derived from the run id and that hash. The id is UUID-shaped (hex, no ':', never
 * all digits), so BullMQ job ids built from it are valid and every conversation route accepts it.
 */
import { createHash } from 'node:crypto';

/** NFC, trimmed, runs of whitespace as one space: "What  is\tX? " and "What is X?" are one seed. */
export function normaliseSeedText(text: string): string {
  return text.normalize('NFC').trim().replace(/\s+/g, ' ');
}

/** JSON with object keys sorted at every level, so equal settings hash equally. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The seed hash (32 hex digits): its normalised `initialQuery`, every other setting it runs with,
 * and the seed's own `id` when it has one (two seeds with the same text but different ids are
 * two seeds). `meta` is provenance, not identity.
 */
export function seedHash(request: Record<string, unknown>, seedId?: string): string {
  const { initialQuery, ...settings } = request;
  const basis = canonicalJson({ q: normaliseSeedText(String(initialQuery ?? '')), s: settings, id: seedId });
  return createHash('sha256').update(basis).digest('hex').slice(0, 32);
}

/** The conversation id of seed `hash` in run `runId`. */
export function runConversationId(runId: string, hash: string): string {
  const h = createHash('sha256').update(`${runId}\n${hash}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Run ids: letters, digits, `_` and `-`, 1–64, not all digits (they become part of Redis keys and URLs). */
export const RUN_ID = /^(?!\d+$)[A-Za-z0-9_-]{1,64}$/;
