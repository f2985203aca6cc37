import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ConversationStore } from '../../../store/conversation-store';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';
import { CancelRegistry } from '../../../coordination/cancel-registry';
import { until } from '../../helpers/test-stack';

describe('CancelRegistry (real Redis pub/sub)', () => {
  let redis: Redis;
  let registry: CancelRegistry;
  let store: ConversationStore;

  beforeEach(async () => {
    redis = new Redis(testRedisUrl());
    store = new ConversationStore(redis, { prefix: uniquePrefix('cancel'), retentionSeconds: 60 });
    registry = new CancelRegistry();
    await registry.listen(redis.duplicate(), store.eventsChannel);
  });
  afterEach(async () => {
    await registry.close();
    redis.disconnect();
  });

  const settings = {
    initialQuery: 'q',
    outputFile: 'x.csv',
    maxTurns: 1,
    timeoutMinutes: 1,
    cloudModel: 'm',
    localModel: 'l',
    contextTurns: 0,
    templates: { followUp: '{{answer}}', nextQuery: '{{followUp}}' },
    systemPrompts: {},
  };

  it('aborts an in-flight call when its conversation is cancelled elsewhere', async () => {
    await store.create('c1', settings);
    const reg = registry.register('c1');
    const other = registry.register('c2');
    await store.finish('c1', 'cancelled', 'cancelled');
    await until(() => reg.signal.aborted, 2000, 'abort');
    assert.equal(other.signal.aborted, false);
    reg.release();
    other.release();
  });

  it('a call registered just after the end was announced starts aborted', async () => {
    await store.create('c3', settings);
    await store.finish('c3', 'timed_out', 'deadline_exceeded');
    await until(() => registry.register('c3').signal.aborted, 2000, 'the end to be remembered');
    const reg = registry.register('c3');
    assert.equal(reg.signal.aborted, true);
  });
});
