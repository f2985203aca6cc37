/**
 * An integer query parameter, checked: `?limit=1.5`, `?start=1e21`, `?limit=abc` or one out of
 * range is a 400 naming the parameter and what it accepts, never a value passed on to Redis.
 *
 * @example
 * const limit = queryInt(ctx.query, 'limit', { min: 1, max: 1000, default: 100 });
 */
import { ValidationError } from '../shared/errors';

export function queryInt(query: Record<string, unknown>, name: string, opts: { min: number; max: number; default: number }): number {
  const raw = query[name];
  if (raw === undefined) return opts.default;
  const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  const text = String(v).trim();
  const n = Number(text);
  if (!/^\d{1,16}$/.test(text) || n < opts.min || n > opts.max) {
    throw new ValidationError(`${name} must be an integer from ${opts.min} to ${opts.max} (got "${text.slice(0, 40)}")`, [
      { field: name, problem: `an integer from ${opts.min} to ${opts.max}` },
    ]);
  }
  return n;
}
