import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SingleFlight } from './singleFlight.js';

describe('SingleFlight', () => {
  it('shares one running computation per key, and forgets it once it settles', async () => {
    const flights = new SingleFlight<number>();
    let starts = 0;
    let release: (value: number) => void = () => undefined;
    const start = () => {
      starts++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const first = flights.run('k', start);
    const second = flights.run('k', start);
    const other = flights.run('other', () => Promise.resolve(7));
    assert.deepEqual([first.joined, second.joined, other.joined], [false, true, false]);
    assert.equal(starts, 1);
    release(42);
    assert.deepEqual(await Promise.all([first.result, second.result, other.result]), [42, 42, 7]);
    assert.equal(flights.size, 0);
    const again = flights.run('k', () => Promise.resolve(43));
    assert.equal(again.joined, false);
    assert.equal(await again.result, 43);
  });

  it('does not remember a failure: the next call starts again', async () => {
    const flights = new SingleFlight<string>();
    await assert.rejects(flights.run('k', () => Promise.reject(new Error('down'))).result, /down/);
    assert.equal(flights.size, 0);
    assert.equal(await flights.run('k', () => Promise.resolve('up')).result, 'up');
  });
});
