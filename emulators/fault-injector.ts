/**
 * The fault and latency model shared by both emulators. Each model call asks {@link FaultInjector.decide}
 * whether to misbehave; the injector also counts calls by route and model and faults by kind.
 *
 * Rules are deterministic when they use `count` (the next N calls) or `rate: 1`, random per call
 * otherwise. Settings come from the start-up options (e.g. `EMULATOR_FAULTS`) and can be replaced
 * at run time, programmatically or over HTTP (`POST /_emulator/faults`).
 *
 * @example
 * emu.faults.set({ faults: [{ kind: 'status', status: 429, count: 2 }] }); // next 2 calls: 429
 * emu.faults.set({ latencyMs: 200 });                                      // keeps the rules
 * emu.faults.reset();                                                      // back to start-up settings
 */
import { FAULT_KINDS, type FaultKind, type FaultSpec } from './emulator-config';

export type { FaultKind, FaultSpec } from './emulator-config';

/** Latency and fault rules. Both fields are optional in {@link FaultInjector.set}. */
export interface FaultSettings {
  /** Added before every model call is answered, in ms. */
  latencyMs?: number;
  /** The rules, tried in order per call; the first that fires wins. */
  faults?: FaultSpec[];
}

/** What to do to one call. */
export interface InjectedFault {
  kind: FaultKind;
  status?: number;
  message?: string;
  errorType?: string;
}

/** Counters since start (or the last {@link FaultInjector.resetStats}). */
export interface EmulatorStats {
  /** Requests served on the emulated API (control routes not counted). */
  calls: number;
  byRoute: Record<string, number>;
  byModel: Record<string, number>;
  /** Faults injected in total, by kind, and (for `status` faults) by HTTP status. */
  faults: number;
  faultsByKind: Record<string, number>;
  faultsByStatus: Record<string, number>;
  /** Model calls running now, and the most seen at once since the counters were reset (the emulator's own concurrency counter). */
  inFlight: number;
  maxInFlight: number;
}

/** Options of {@link FaultInjector}. */
export interface FaultInjectorOptions extends FaultSettings {
  /** Source of randomness in [0,1). Default `Math.random`. */
  random?: () => number;
}

/** A 400 from the control endpoint: the body did not describe valid settings. */
export class FaultSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultSettingsError';
  }
}

interface Rule extends FaultSpec {
  remaining?: number;
}

function checkSpec(spec: unknown, where: string): FaultSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new FaultSettingsError(`${where} must be an object`);
  }
  const s = spec as Record<string, unknown>;
  const known = ['kind', 'status', 'rate', 'count', 'model', 'message', 'errorType'];
  const unknown = Object.keys(s).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new FaultSettingsError(`${where} has unknown field(s) ${unknown.join(', ')}; allowed: ${known.join(', ')}`);
  if (typeof s.kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(s.kind)) {
    throw new FaultSettingsError(`${where}.kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  if (s.kind === 'status') {
    if (!Number.isInteger(s.status) || (s.status as number) < 100 || (s.status as number) > 599) {
      throw new FaultSettingsError(`${where}.status must be an integer 100-599 for kind "status"`);
    }
  } else if (s.status !== undefined) {
    throw new FaultSettingsError(`${where}.status is only allowed with kind "status"`);
  }
  if (s.rate !== undefined && (typeof s.rate !== 'number' || !(s.rate >= 0 && s.rate <= 1))) {
    throw new FaultSettingsError(`${where}.rate must be a number in 0..1`);
  }
  if (s.count !== undefined && (!Number.isInteger(s.count) || (s.count as number) < 1)) {
    throw new FaultSettingsError(`${where}.count must be an integer >= 1`);
  }
  for (const f of ['model', 'message', 'errorType'] as const) {
    if (s[f] !== undefined && (typeof s[f] !== 'string' || s[f] === '')) {
      throw new FaultSettingsError(`${where}.${f} must be a non-empty string`);
    }
  }
  return { ...(s as unknown as FaultSpec) };
}

/**
 * Validates settings from an untrusted source (the control endpoint's JSON body).
 * Throws {@link FaultSettingsError} with a message naming the bad field.
 */
export function parseFaultSettings(body: unknown): FaultSettings {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FaultSettingsError('body must be a JSON object { latencyMs?, faults?: [...] }');
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => k !== 'latencyMs' && k !== 'faults');
  if (unknown.length > 0) throw new FaultSettingsError(`unknown field(s) ${unknown.join(', ')}; allowed: latencyMs, faults`);
  const out: FaultSettings = {};
  if (b.latencyMs !== undefined) {
    if (!Number.isInteger(b.latencyMs) || (b.latencyMs as number) < 0) {
      throw new FaultSettingsError('latencyMs must be an integer >= 0');
    }
    out.latencyMs = b.latencyMs as number;
  }
  if (b.faults !== undefined) {
    if (!Array.isArray(b.faults)) throw new FaultSettingsError('faults must be an array');
    out.faults = b.faults.map((f, i) => checkSpec(f, `faults[${i}]`));
  }
  return out;
}

function emptyStats(): EmulatorStats {
  return { calls: 0, byRoute: {}, byModel: {}, faults: 0, faultsByKind: {}, faultsByStatus: {}, inFlight: 0, maxInFlight: 0 };
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Latency and fault rules plus call counters for one emulator. */
export class FaultInjector {
  private readonly initial: Required<FaultSettings>;
  private readonly random: () => number;
  private latency = 0;
  private rules: Rule[] = [];
  private counters = emptyStats();

  constructor(opts: FaultInjectorOptions = {}) {
    const initial = parseFaultSettings({ latencyMs: opts.latencyMs ?? 0, faults: opts.faults ?? [] });
    this.initial = { latencyMs: initial.latencyMs ?? 0, faults: initial.faults ?? [] };
    this.random = opts.random ?? Math.random;
    this.reset();
  }

  /** Added latency per model call, in ms. */
  get latencyMs(): number {
    return this.latency;
  }

  /** The active rules (with `count` showing what is left). */
  get faults(): FaultSpec[] {
    return this.rules.map(({ remaining, ...spec }) => (remaining === undefined ? spec : { ...spec, count: remaining }));
  }

  /**
   * Replaces the latency and/or the rule list (a field left out keeps its current value).
   * Throws {@link FaultSettingsError} on an invalid rule.
   */
  set(settings: FaultSettings): void {
    const s = parseFaultSettings(settings);
    if (s.latencyMs !== undefined) this.latency = s.latencyMs;
    if (s.faults !== undefined) this.rules = s.faults.map((f) => ({ ...f, remaining: f.count }));
  }

  /** Restores the start-up settings (the options this injector was built with). Counters are kept. */
  reset(): void {
    this.latency = this.initial.latencyMs;
    this.rules = this.initial.faults.map((f) => ({ ...f, remaining: f.count }));
  }

  /**
   * Counts one call on `route` (for `model`) and, when `faultable`, picks the fault to inject, if any.
   * Read-only routes (tags, version) pass `faultable: false`.
   */
  decide(route: string, model?: string, faultable = true): InjectedFault | undefined {
    this.counters.calls += 1;
    bump(this.counters.byRoute, route);
    if (model !== undefined) bump(this.counters.byModel, model);
    if (!faultable) return undefined;
    for (const rule of this.rules) {
      if (rule.model !== undefined && rule.model !== model) continue;
      let fires: boolean;
      if (rule.remaining !== undefined) {
        fires = rule.remaining > 0;
        if (fires) rule.remaining -= 1;
      } else {
        const rate = rule.rate ?? 1;
        fires = rate >= 1 || (rate > 0 && this.random() < rate);
      }
      if (!fires) continue;
      this.rules = this.rules.filter((r) => r.remaining === undefined || r.remaining > 0);
      this.counters.faults += 1;
      bump(this.counters.faultsByKind, rule.kind);
      if (rule.status !== undefined) bump(this.counters.faultsByStatus, String(rule.status));
      return { kind: rule.kind, status: rule.status, message: rule.message, errorType: rule.errorType };
    }
    return undefined;
  }

  /** A copy of the counters. */
  stats(): EmulatorStats {
    return structuredClone(this.counters);
  }

  /** Zeroes the counters (calls still running stay counted in `inFlight`). */
  resetStats(): void {
    const running = this.counters?.inFlight ?? 0;
    this.counters = emptyStats();
    this.counters.inFlight = running;
    this.counters.maxInFlight = running;
  }

  /** Counts a model call as running; call the returned function (once) when it ends. */
  enter(): () => void {
    const c = this.counters;
    c.inFlight++;
    if (c.inFlight > c.maxInFlight) c.maxInFlight = c.inFlight;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      // The counters may have been reset meanwhile: the running count moved to the new object.
      this.counters.inFlight--;
    };
  }
}
