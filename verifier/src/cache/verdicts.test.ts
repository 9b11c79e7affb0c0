import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VerdictCache, attestationKey, imageKey, type Verdict } from './verdicts.js';

const verdict = (outcome: Verdict['outcome']): Verdict => ({ outcome, digest: 'sha256:d', reason: outcome, kind: 'none', warnings: [], verifiedAt: '' });
const options = { enabled: true, maxEntries: 3, ttlSeconds: 60, negativeTtlSeconds: 5 };

describe('VerdictCache', () => {
  it('keys by policy version and digest', () => {
    assert.equal(imageKey('pv', 'sha256:d'), 'kna:v1:pv:sha256:d');
    assert.equal(attestationKey('pv', 'sha256:d', 'h'), 'kna:v1:pv:sha256:d:att:h');
  });

  it('computes once for concurrent misses and serves hits afterwards', async () => {
    const cache = new VerdictCache(options);
    let calls = 0;
    const compute = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      return verdict('verified');
    };
    const results = await Promise.all(Array.from({ length: 5 }, () => cache.getOrCompute('k', compute)));
    assert.equal(calls, 1);
    assert.deepEqual(results.map((r) => r.source).sort(), ['computed', 'shared-flight', 'shared-flight', 'shared-flight', 'shared-flight']);
    assert.equal((await cache.getOrCompute('k', compute)).source, 'l1');
    assert.equal(calls, 1);
  });

  it('never stores could-not-verify, and expires denials sooner than successes', async () => {
    let now = 1_000;
    const cache = new VerdictCache({ ...options, clock: { now: () => now } });
    await cache.getOrCompute('u', () => Promise.resolve(verdict('could-not-verify')));
    assert.equal(cache.size, 0);
    await cache.getOrCompute('d', () => Promise.resolve(verdict('denied')));
    await cache.getOrCompute('v', () => Promise.resolve(verdict('verified')));
    const sourceAt = async (key: string, ms: number) => {
      now = 1_000 + ms;
      return (await cache.getOrCompute(key, () => Promise.resolve(verdict('verified')))).source;
    };
    assert.equal(await sourceAt('d', 4_900), 'l1');
    assert.equal(await sourceAt('d', 5_100), 'computed', 'a denial is forgotten after negativeTtlSeconds');
    assert.equal(await sourceAt('v', 59_000), 'l1');
    assert.equal(await sourceAt('v', 61_000), 'computed', 'a success is forgotten after ttlSeconds');
  });

  it('is bounded by maxEntries', async () => {
    const cache = new VerdictCache(options);
    for (let i = 0; i < 10; i++) await cache.getOrCompute(`k${i}`, () => Promise.resolve(verdict('verified')));
    assert.equal(cache.size, 3);
  });

  it('computes every time when disabled', async () => {
    const cache = new VerdictCache({ ...options, enabled: false });
    let calls = 0;
    for (let i = 0; i < 3; i++) await cache.getOrCompute('k', () => (calls++, Promise.resolve(verdict('verified'))));
    assert.equal(calls, 3);
  });
});
