/**
 * Preference pairs (`format=dpo`) from sibling branches, with no I/O: a conversation and its forks
 * at the same turn k (POST /conversation/:id/fork) answered the same prompt (turns 1..k-1 shared,
 * then turn k's question) each its own way; the judge scored each branch, and the best and the
 * worst scored answer of turn k make one line in TRL's conversational preference format
 * (https://huggingface.co/docs/trl/v0.17.0/dataset_formats, "Preference"):
 *   {"prompt": [{"role": "user", …}, …], "chosen": [{"role": "assistant", …}], "rejected": [{"role": "assistant", …}], "metadata": {…}}
 * `pairs=best` (the default) writes one line per prompt, its best against its worst scored answer;
 * `pairs=all` writes every pair of two answers to one prompt whose scores differ by at least
 * `minMargin` (default 0: any difference), the higher chosen. TRL's DPO trainer takes several
 * lines with the same prompt (its dataset example repeats "Which is the best programming
 * language?" with three chosen/rejected pairs: https://huggingface.co/docs/trl/v0.7.1/dpo_trainer,
 * "Expected dataset format", read 2026-12-04), as UltraFeedback's multi-binarized sets do; a margin
 * keeps out pairs the judge barely told apart.
 * Only branches that pass the export's filters and were scored take part; a tie makes no pair.
 * The prompt's system message is there when both branches had the same one (their own are in the
 * metadata); branches whose history before turn k differs (another nextQuery template) are never
 * paired with each other.
 */
import type { Side } from '../conversation/model';
import type { Judgement } from '../store/interfaces';
import { dialogueOf, type ExportItem } from './conversation-lines';
import { DEFAULT_PAIR_CHOICE, type PairChoice } from './export-options';

type Message = { role: 'system' | 'user' | 'assistant'; content: string };

/** What a branch is ranked by: one criterion of the judge's scores, or their mean (`undefined`). */
export function branchScore(judge: Judgement | null | undefined, criterion?: string): number | undefined {
  if (judge?.status !== 'scored' || !judge.scores) return undefined;
  if (criterion !== undefined) return judge.scores[criterion];
  const values = Object.values(judge.scores);
  return values.length ? values.reduce((a, v) => a + v, 0) / values.length : undefined;
}

interface Candidate {
  item: ExportItem;
  score: number;
  system?: string;
  history: Message[];
  answer: string;
}

/** A branch's answer to turn `at` with the exchanges before it, or undefined when it has none. */
function candidateOf(item: ExportItem, at: number, side: Side, criterion?: string): Candidate | undefined {
  const score = branchScore(item.judge, criterion);
  if (score === undefined) return undefined;
  const { system, pairs } = dialogueOf(item, side);
  const k = pairs.findIndex((p) => p.turn === at);
  if (k < 0 || k !== at - 1) return undefined;
  const history: Message[] = [];
  for (const p of pairs.slice(0, k)) history.push({ role: 'user', content: p.user }, { role: 'assistant', content: p.assistant });
  history.push({ role: 'user', content: pairs[k]!.user });
  return { item, score, ...(system !== undefined ? { system } : {}), history, answer: pairs[k]!.assistant };
}

const branchMeta = (c: Candidate) => {
  const s = c.item.record.settings;
  return {
    conversationId: c.item.record.id,
    score: c.score,
    scores: c.item.judge?.scores ?? {},
    cloudModel: s.cloudModel,
    localModel: s.localModel,
    temperature: s.temperature ?? null,
    systemPrompts: s.systemPrompts,
    status: c.item.record.status,
    stopReason: c.item.record.stopReason ?? c.item.record.pendingStop ?? null,
  };
};

/** The (chosen, rejected) pairs of one prompt's candidates, ranked best first, under `choice`. */
function pairsOf(ranked: readonly Candidate[], choice: PairChoice): [Candidate, Candidate][] {
  const ok = (a: Candidate, b: Candidate) => a.score > b.score && a.score - b.score >= choice.minMargin;
  if (choice.pairs === 'best') {
    const chosen = ranked[0]!;
    const rejected = ranked[ranked.length - 1]!;
    return ok(chosen, rejected) ? [[chosen, rejected]] : [];
  }
  const out: [Candidate, Candidate][] = [];
  for (let i = 0; i < ranked.length; i++)
    for (let j = i + 1; j < ranked.length; j++) if (ok(ranked[i]!, ranked[j]!)) out.push([ranked[i]!, ranked[j]!]);
  return out;
}

/** What {@link preferenceLines} made of one family: lines, and groups that made none (a tie, fewer than two scored). */
export interface PairOutcome {
  lines: string[];
  unpaired: number;
}

/**
 * The preference lines of `parent` and its `forks` (each with its branch point): one per turn k
 * at which at least two of them (the parent and its forks at k) have a scored answer, best
 * against worst (or every pair, {@link PairChoice}). `keep` is the export's filter (status, stop
 * reason, score filters).
 */
export function preferenceLines(
  parent: ExportItem,
  forks: readonly { item: ExportItem; atTurn: number }[],
  opts: { assistant: Side; criterion?: string; keep: (item: ExportItem) => boolean; choice?: PairChoice },
): PairOutcome {
  const byTurn = new Map<number, ExportItem[]>();
  for (const f of forks) byTurn.set(f.atTurn, [...(byTurn.get(f.atTurn) ?? []), f.item]);
  const out: PairOutcome = { lines: [], unpaired: 0 };
  for (const [at, siblings] of [...byTurn.entries()].sort((a, b) => a[0] - b[0])) {
    const members = [parent, ...siblings].filter(opts.keep);
    // Branches with the same history before turn k answered the same prompt.
    const groups = new Map<string, Candidate[]>();
    for (const m of members) {
      const c = candidateOf(m, at, opts.assistant, opts.criterion);
      if (!c) continue;
      const key = JSON.stringify(c.history);
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    let made = 0;
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      const ranked = [...group].sort((a, b) => b.score - a.score);
      for (const [chosen, rejected] of pairsOf(ranked, opts.choice ?? DEFAULT_PAIR_CHOICE)) {
        const system = chosen.system === rejected.system ? chosen.system : undefined;
        const prompt: Message[] = system !== undefined ? [{ role: 'system', content: system }, ...chosen.history] : chosen.history;
        const line = {
          prompt,
          chosen: [{ role: 'assistant', content: chosen.answer }],
          rejected: [{ role: 'assistant', content: rejected.answer }],
          metadata: {
            parentId: parent.record.id,
            atTurn: at,
            assistant: opts.assistant,
            rankedBy: opts.criterion === undefined ? 'mean of the judge scores' : `score.${opts.criterion}`,
            candidates: group.length,
            margin: chosen.score - rejected.score,
            runId: parent.record.settings.run?.id ?? null,
            seedHash: parent.record.settings.run?.seedHash ?? null,
            meta: parent.record.settings.run?.meta ?? null,
            chosen: branchMeta(chosen),
            rejected: branchMeta(rejected),
          },
        };
        out.lines.push(`${JSON.stringify(line)}\n`);
        made++;
      }
    }
    if (made === 0) out.unpaired++;
  }
  return out;
}
