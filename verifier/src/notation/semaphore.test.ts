import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore } from './semaphore.js';

describe('Semaphore', () => {
  it('bounds holders and serves waiters in order', async () => {
    const s = new Semaphore(2);
    await s.acquire();
    await s.acquire();
    const order: number[] = [];
    const a = s.acquire().then(() => order.push(1));
    const b = s.acquire().then(() => order.push(2));
    assert.equal(s.waiting, 2);
    s.release();
    s.release();
    await Promise.all([a, b]);
    assert.deepEqual(order, [1, 2]);
  });

  it('an aborted wait leaves the queue and rejects', async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    controller.abort(new Error('deadline'));
    await assert.rejects(waiting, /deadline/);
    assert.equal(s.waiting, 0);
    s.release();
    await s.acquire(); // the permit went back, not to the abandoned waiter
  });

  it('rejects bad permit counts', () => {
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
