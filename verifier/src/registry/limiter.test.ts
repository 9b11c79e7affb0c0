import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { KeyedLimiter } from './limiter.js';

describe('KeyedLimiter', () => {
  it('lets `limit` holders in per key and queues the rest first come, first served', async () => {
    const limiter = new KeyedLimiter(2);
    const a = await limiter.acquire('h');
    const b = await limiter.acquire('h');
    const other = await limiter.acquire('other');
    const order: string[] = [];
    const c = limiter.acquire('h').then((release) => (order.push('c'), release));
    const d = limiter.acquire('h').then((release) => (order.push('d'), release));
    await tick();
    assert.deepEqual(order, []);
    assert.deepEqual(limiter.stats('h'), { active: 2, queued: 2 });
    assert.deepEqual(limiter.stats('other'), { active: 1, queued: 0 });
    a();
    a(); // releasing twice frees one slot only
    const releaseC = await c;
    await tick();
    assert.deepEqual(order, ['c']);
    b();
    const releaseD = await d;
    assert.deepEqual(order, ['c', 'd']);
    releaseC();
    releaseD();
    other();
    assert.deepEqual(limiter.stats('h'), { active: 0, queued: 0 });
  });

  it('drops a waiter whose signal aborts, without taking a slot', async () => {
    const limiter = new KeyedLimiter(1);
    const held = await limiter.acquire('h');
    const controller = new AbortController();
    const waiting = limiter.acquire('h', controller.signal);
    assert.equal(limiter.stats('h').queued, 1);
    controller.abort(new Error('deadline'));
    await assert.rejects(waiting, /deadline/);
    assert.deepEqual(limiter.stats('h'), { active: 1, queued: 0 });
    held();
    const again = await limiter.acquire('h');
    again();
    await assert.rejects(limiter.acquire('h', AbortSignal.abort(new Error('already'))), /already/);
  });

  it('refuses a nonsensical limit', () => {
    assert.throws(() => new KeyedLimiter(0), RangeError);
  });
});
