/**
 * What the domain needs of the judge's store (the Redis implementation: store/judge-store.ts).
 */

/** A run's judge summary: how many were scored or not, and per criterion the mean and the counts per score. */
export interface RunJudgeSummary {
  scored: number;
  unscored: number;
  criteria: Record<string, { mean: number; distribution: Record<string, number> }>;
}

export interface Judgement {
  status: 'scored' | 'unscored';
  /** Score per criterion (scored only). */
  scores?: Record<string, number>;
  model: string;
  /** Judge calls made. */
  attempts: number;
  /** Why it is unscored. */
  error?: string;
  at: number;
}

/** A finished conversation's judgement, kept as long as the conversation. */
export interface JudgeStore {
  /** Stores the judgement (replacing an earlier one); a run's conversation's first one counts in the run's summary. */
  save(conversationId: string, j: Judgement, ttlSeconds: number, runId?: string): Promise<void>;
  /** The judgement, or null when the conversation was not judged (yet). */
  get(conversationId: string): Promise<Judgement | null>;
}
