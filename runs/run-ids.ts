/**
 * Where a run's id is stored, and on which shard (REDIS_SHARDS, shared/redis-shards.ts; docs/deploy.md,
 * "Runs and shards"). A run's keys are at its id's shard, with its conversations and the owner's
 * caller keys that its scripts touch (store/lua/run/create.lua, fill.lua). A key with a limit
 * (maxActive, a budget: `isLimited`) keeps all its work on its own shard, where its limits are
 * written (ConversationStore.shardForNew), so they stay exact; an unlimited key's runs spread. So:
 *
 * - a new run without a name gets a random id, drawn until it is on its shard when its key has a
 *   limit (else any shard);
 * - a named run (`POST /runs?run=nightly`) is stored under its name, or for a limited key under the
 *   first of `nightly`, `nightly~1`, `nightly~2` … on the key's shard: deterministic, and the suffix
 *   is never shown (`~` is in no id a client can give, so no suffix can meet a client's id). A run is
 *   looked up on every shard's candidate (the key's limits may have changed since, another admin
 *   may have named it), its creation shard's first;
 * - with one shard every id is as before, byte for byte.
 *
 * A non-admin caller's runs live in its own namespace (`alice.nightly`), so two callers may both
 * pick `nightly`; admins use ids as they are, and may name another caller's run qualified.
 */
import type { ShardSet } from '../shared/redis-shards';
import { isLimited, type Caller } from '../shared/caller';
import type { RunState } from '../store/interfaces';
import type { RunStore } from '../store/run-store';
import { RUN_ID } from './seed-identity';

/** A run id as an admin addresses another caller's run: `<key id>.<run id>` (docs/callers.md). */
export const QUALIFIED_RUN_ID = /^[A-Za-z0-9_-]{1,32}\.(?!\d+$)[A-Za-z0-9_-]{1,64}$/;

/** The shard suffix of a stored id (`~<attempt>`, never in an id a client gives). */
const SUFFIX = /~\d+$/;

/**
 * Where a caller's run id is named (its namespace, before any shard suffix): a non-admin caller's
 * own namespace, an admin's ids as they are. Undefined for an id the caller cannot name.
 */
export function storedRunId(caller: Caller, runId: string): string | undefined {
  if (caller.admin) return RUN_ID.test(runId) || QUALIFIED_RUN_ID.test(runId) ? runId : undefined;
  return caller.id !== undefined && RUN_ID.test(runId) ? `${caller.id}.${runId}` : undefined;
}

/** The id a caller sees for a stored run id (the inverse of {@link storedRunId} and of the shard suffix). */
export function publicRunId(caller: Caller, stored: string): string {
  const name = stored.replace(SUFFIX, '');
  const own = caller.id === undefined ? undefined : `${caller.id}.`;
  return !caller.admin && own && name.startsWith(own) ? name.slice(own.length) : name;
}

/** The stored id of named run `name` on shard `shard`: the first of `name`, `name~1`, … there. */
export function runIdOnShard(shards: ShardSet, shard: number, name: string): string {
  return shards.newId(shard, (k) => (k === 0 ? name : `${name}~${k}`));
}

/** The shard a new run of `caller` is created on when its id is `name`: a limited key's own, else the name's. */
function homeShard(shards: ShardSet, caller: Caller, name: string): number {
  return isLimited(caller) ? shards.shardOf(caller.id!) : shards.shardOf(name);
}

/**
 * The stored ids run `runId` may be under for `caller`, the first being where it is created (a
 * limited key's shard, else the name's own: the name itself), then every other shard's
 * candidate (one id with one shard). Empty for an id the caller cannot name.
 */
export function runIdCandidates(shards: ShardSet, caller: Caller, runId: string): string[] {
  const name = storedRunId(caller, runId);
  if (name === undefined) return [];
  if (shards.count === 1) return [name];
  const home = homeShard(shards, caller, name);
  const others = Array.from({ length: shards.count }, (_, k) => k).filter((k) => k !== home);
  return [home, ...others].map((k) => runIdOnShard(shards, k, name));
}

/**
 * A new run's stored id for `caller` (no name given): random, on a limited key's shard (else on a
 * random one), with its public id. `make` draws a random public id (randomUUID); undefined when
 * the caller can name no run.
 */
export function newRunId(shards: ShardSet, caller: Caller, make: () => string): { id: string; publicId: string } | undefined {
  if (storedRunId(caller, make()) === undefined) return undefined;
  const shard = isLimited(caller) ? shards.shardOf(caller.id!) : shards.randomShard();
  const id = shards.newId(shard, () => storedRunId(caller, make())!);
  return { id, publicId: publicRunId(caller, id) };
}

/**
 * The run `runId` names for `caller`: the stored id of the first candidate that exists, with its
 * state, else the candidate it would be created under (state null). Undefined for an id the
 * caller cannot name. One read where the run is on its creation shard; a missing one reads every shard's.
 */
export async function locateRun(
  runs: Pick<RunStore, 'shards' | 'get'>,
  caller: Caller,
  runId: string,
): Promise<{ id: string; state: RunState | null } | undefined> {
  const candidates = runIdCandidates(runs.shards, caller, runId);
  if (!candidates.length) return undefined;
  // In order, so the usual case (found where it would be created) is one read.
  for (const id of candidates) {
    const state = await runs.get(id);
    if (state) return { id, state };
  }
  return { id: candidates[0]!, state: null };
}
