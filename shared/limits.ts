/**
 * The bounds of a conversation's settings, written once: the config schema's ranges (MAX_TURNS,
 * DEFAULT_MAX_TOKENS), the request validation (`POST /conversation`, `POST /estimate`, the
 * Lambda's request), the defaults a request does not name, and the cost estimate all read them.
 *
 * @example
 * z.number().int().min(LIMITS.maxTurns.min).max(LIMITS.maxTurns.max)
 */
export const LIMITS = {
  /** Turns (transcript rows) per conversation; the default is MAX_TURNS. */
  maxTurns: { min: 1, max: 1000 },
  /** Output tokens per reply, for any model (the model's own lower cap is the catalogue's); the default is DEFAULT_MAX_TOKENS. */
  maxTokens: { min: 1, max: 200_000 },
  /** Earlier exchanges each model sees. */
  contextTurns: { min: 0, max: 50, default: 3 },
  /** A conversation's deadline; the default is CONVERSATION_TIMEOUT_MINUTES. */
  timeoutMinutes: { max: 24 * 60 },
  /** Sampling temperature. */
  temperature: { min: 0, max: 1 },
  /** Longest initial query, in characters. */
  initialQueryChars: 20_000,
  /** Sibling forks a finished conversation makes of itself (`branches`, docs/branches.md). */
  branches: { min: 1, max: 16 },
  /** The largest `maxActive` a run may ask for: RUN_MAX_ACTIVE_LIMIT's default. */
  maxActiveLimit: { default: 1000 },
} as const;

/** Default number of earlier exchanges each model sees. */
export const DEFAULT_CONTEXT_TURNS = LIMITS.contextTurns.default;
