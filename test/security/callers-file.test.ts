/**
 * API_KEYS_FILE itself (producer/caller-keys.ts; docs/callers.md): JSON and YAML, hashes not keys,
 * every bad entry a ConfigError naming API_KEYS_FILE and the entry, API_KEY beside it as the
 * owner-less admin, and hasAuthConfigured() for the start-up check. No Redis, no servers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasAuthConfigured } from '../../producer/api-key-auth';
import { decideBoardAccess } from '../../producer/board/board-access';
import { CallerKeys, keyHash, parseCallerKeys } from '../../producer/caller-keys';
import { canSee, OWNERLESS_ADMIN } from '../../shared/caller';
import { ConfigError } from '../../shared/errors';
import { storedRunId, publicRunId } from '../../runs/run-service';
import { ownedRunConversationId } from '../../runs/seed-identity';

const sha = (k: string) => createHash('sha256').update(k).digest('hex');

describe('security: the callers file (API_KEYS_FILE)', () => {
  const json = JSON.stringify([
    { id: 'alice', name: 'Alice', sha256: sha('ka'), maxActive: 3, budget: { usd: 2.5 } },
    { id: 'ops', sha256: sha('ko').toUpperCase(), role: 'admin' },
  ]);

  it('reads JSON and YAML; a key authenticates as its entry, the hash or another string does not', () => {
    const yaml = `keys:\n  - id: alice\n    name: Alice\n    sha256: ${sha('ka')}\n    maxActive: 3\n    budget: { usd: 2.5 }\n  - id: ops\n    sha256: ${sha('ko')}\n    role: admin\n`;
    for (const text of [json, yaml]) {
      const keys = new CallerKeys(undefined, parseCallerKeys(text));
      assert.deepEqual(keys.authenticate('ka'), { id: 'alice', name: 'Alice', admin: false, maxActive: 3, budget: { usd: 2.5 } });
      assert.equal(keys.authenticate('ko')?.admin, true);
      assert.equal(keys.authenticate('ko')?.id, 'ops');
      assert.equal(keys.authenticate(sha('ka')), undefined);
      assert.equal(keys.authenticate('k'), undefined);
      assert.equal(keys.authenticate(''), undefined);
      assert.equal(keys.isAdminKey('ka'), false);
      assert.equal(keys.isAdminKey('ko'), true);
      assert.ok(keys.multi && keys.required);
    }
    assert.equal(keyHash('ka'), sha('ka'));
  });

  it('keeps API_KEY as the owner-less admin beside the file, and alone', () => {
    const both = new CallerKeys('legacy-key', parseCallerKeys(json));
    assert.equal(both.authenticate('legacy-key'), OWNERLESS_ADMIN);
    assert.equal(both.authenticate('ka')?.id, 'alice');
    const alone = new CallerKeys('legacy-key');
    assert.equal(alone.authenticate('legacy-key'), OWNERLESS_ADMIN);
    assert.equal(alone.multi, false);
    assert.equal(new CallerKeys(undefined).required, false);
  });

  it('refuses a bad file with a ConfigError naming API_KEYS_FILE and the entry', () => {
    const bad: [string, RegExp][] = [
      ['{not yaml: [', /neither JSON nor YAML/],
      [JSON.stringify([{ id: 'a', sha256: 'abc' }]), /entry 1\.sha256: .*64 hex digits/],
      [JSON.stringify([{ id: 'a b', sha256: sha('x') }]), /entry 1\.id/],
      [JSON.stringify([{ id: 'a', sha256: sha('x'), key: 'plain' }]), /entry 1/],
      [
        JSON.stringify([
          { id: 'a', sha256: sha('x') },
          { id: 'a', sha256: sha('y') },
        ]),
        /"a" appears twice/,
      ],
      [
        JSON.stringify([
          { id: 'a', sha256: sha('x') },
          { id: 'b', sha256: sha('x') },
        ]),
        /same hash/,
      ],
      [JSON.stringify([{ id: 'a', sha256: sha('x'), maxActive: 0 }]), /entry 1\.maxActive/],
      [JSON.stringify([{ id: 'a', sha256: sha('x'), budget: {} }]), /entry 1\.budget/],
      [JSON.stringify([{ id: 'a', sha256: sha('x'), role: 'root' }]), /entry 1\.role/],
    ];
    for (const [text, re] of bad) {
      assert.throws(
        () => parseCallerKeys(text),
        (err: unknown) => err instanceof ConfigError && err.key === 'API_KEYS_FILE' && re.test(err.message),
        text,
      );
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-keys-'));
    try {
      assert.throws(
        () => CallerKeys.fromConfig({ apiKeysFile: path.join(dir, 'missing.yaml') }),
        (err: unknown) => err instanceof ConfigError && /cannot be read/.test(err.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Bull Board takes admin keys only when API_KEYS_FILE is set', () => {
    const keys = new CallerKeys(undefined, parseCallerKeys(json));
    const basic = (pass: string) => `Basic ${Buffer.from(`u:${pass}`).toString('base64')}`;
    const opts = { isAdminKey: (k: string) => keys.isAdminKey(k) };
    assert.equal(decideBoardAccess(opts, { remoteAddress: '127.0.0.1', authorization: basic('ko') }).allow, true);
    assert.equal(decideBoardAccess(opts, { remoteAddress: '127.0.0.1', authorization: basic('ka') }).allow, false, 'a caller key');
    assert.equal(decideBoardAccess(opts, { remoteAddress: '127.0.0.1' }).allow, false, 'no key on loopback');
  });

  it('hasAuthConfigured: API_KEY or API_KEYS_FILE', () => {
    assert.equal(hasAuthConfigured({}), false);
    assert.equal(hasAuthConfigured({ apiKey: 'k' }), true);
    assert.equal(hasAuthConfigured({ apiKeysFile: '/etc/llmconv/keys.yaml' }), true);
  });

  it('visibility, run namespaces and keyed ids', () => {
    const alice = { id: 'alice', name: 'Alice', admin: false };
    const ops = { id: 'ops', name: 'Ops', admin: true };
    assert.equal(canSee(alice, 'alice'), true);
    assert.equal(canSee(alice, 'bob'), false);
    assert.equal(canSee(alice, undefined), false, "records from before callers are admins'");
    assert.equal(canSee(ops, 'bob'), true);
    assert.equal(canSee(OWNERLESS_ADMIN, undefined), true);
    assert.equal(storedRunId(alice, 'nightly'), 'alice.nightly');
    assert.equal(storedRunId(alice, 'bob.nightly'), undefined, "a caller cannot name another's run");
    assert.equal(storedRunId(ops, 'bob.nightly'), 'bob.nightly');
    assert.equal(storedRunId(ops, 'nightly'), 'nightly');
    assert.equal(publicRunId(alice, 'alice.nightly'), 'nightly');
    assert.equal(publicRunId(ops, 'alice.nightly'), 'alice.nightly');
    const s1 = Buffer.alloc(32, 1);
    const s2 = Buffer.alloc(32, 2);
    const id = ownedRunConversationId(s1, 'alice', 'alice.nightly', 'h');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(ownedRunConversationId(s1, 'alice', 'alice.nightly', 'h'), id, 'deterministic');
    assert.notEqual(ownedRunConversationId(s2, 'alice', 'alice.nightly', 'h'), id, 'keyed by the secret');
    assert.notEqual(ownedRunConversationId(s1, 'bob', 'alice.nightly', 'h'), id, 'the owner is part of it');
  });
});
