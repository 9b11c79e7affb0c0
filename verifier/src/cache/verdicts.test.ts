import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VerdictCache, attestationKey, imageKey, type Verdict } from './verdicts.js';

const verdict = (outcome: Verdict['outcome']): Verdict => ({ outcome, digest: 'sha256:d', reason: outcome, kind: 'none', warnings: [], verifiedAt: '' });
const options = { enabled: true, maxEntries: 3, ttlSeconds: 60, negativeTtlSeconds: 5 };

describe('VerdictCache', () => {
  it('keys by policy version, canonical repository and digest', () => {
    const at = { registry: 'reg.example.com:5000', repository: 'ns/app' };
    assert.equal(imageKey('pv', at, 'sha256:d'), 'kna:v1:pv:reg.example.com:5000/ns/app@sha256:d');
    assert.equal(attestationKey('pv', at, 'sha256:r', 'h'), 'kna:v1:pv:reg.example.com:5000/ns/app@sha256:r:att:h');
    // Two spellings of one repository share a key; two repositories, or a port, never do.
    assert.equal(imageKey('pv', { ...at, registry: 'REG.Example.COM:5000' }, 'sha256:d'), imageKey('pv', at, 'sha256:d'));
    assert.equal(imageKey('pv', { registry: 'index.docker.io', repository: 'library/nginx' }, 'sha256:d'), 'kna:v1:pv:docker.io/library/nginx@sha256:d');
    assert.notEqual(imageKey('pv', { ...at, repository: 'ns/app2' }, 'sha256:d'), imageKey('pv', at, 'sha256:d'));
    assert.notEqual(imageKey('pv', { ...at, registry: 'reg.example.com' }, 'sha256:d'), imageKey('pv', at, 'sha256:d'));
    assert.notEqual(imageKey('pv2', at, 'sha256:d'), imageKey('pv', at, 'sha256:d'));
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
