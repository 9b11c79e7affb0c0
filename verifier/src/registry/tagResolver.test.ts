import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ResolvedManifest } from './client.js';
import type { ImageRef } from './endpoint.js';
import { ERR_REGISTRY_DEADLINE, ERR_REGISTRY_NOT_FOUND } from './errors.js';
import { TagResolver } from './tagResolver.js';

const manifest = (digest: string): ResolvedManifest => ({ digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10 });
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

/** A registry whose answers the test releases by hand, counting what it was asked. */
function registry() {
  const asked: string[] = [];
  const waiting: ((m: ResolvedManifest | Error) => void)[] = [];
  const resolve = (ref: ImageRef) => {
    asked.push(`${ref.registry}/${ref.repository}:${ref.tag ?? ref.digest ?? ''}`);
    return new Promise<ResolvedManifest>((ok, fail) => waiting.push((m) => (m instanceof Error ? fail(m) : ok(m))));
  };
  const answer = (m: ResolvedManifest | Error) => {
    const next = waiting.shift();
    assert.ok(next, 'nothing is waiting for the registry');
    next(m);
  };
  return { asked, resolve, answer };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('TagResolver', () => {
  it('shares one round trip between concurrent resolutions of one tag (any spelling of the registry)', async () => {
    const reg = registry();
    const tags = new TagResolver(reg.resolve);
    const a = tags.resolve({ registry: 'reg.example:5000', repository: 'app', tag: 'v1' });
    const b = tags.resolve({ registry: 'REG.example:5000', repository: 'app', tag: 'v1' });
    const other = tags.resolve({ registry: 'reg.example:5000', repository: 'app', tag: 'v2' });
    await tick();
    assert.equal(reg.asked.length, 2, 'one round trip for v1, one for v2');
    reg.answer(manifest(D1));
    reg.answer(manifest(D2));
    assert.deepEqual([(await a).digest, (await b).digest, (await other).digest], [D1, D1, D2]);
    assert.equal(tags.roundTrips, 2);
  });

  it('without a TTL (the default) asks the registry again on every later request', async () => {
    const reg = registry();
    const tags = new TagResolver(reg.resolve);
    for (const digest of [D1, D2]) {
      const pending = tags.resolve({ registry: 'r', repository: 'app', tag: 'moving' });
      await tick();
      reg.answer(manifest(digest));
      assert.equal((await pending).digest, digest, 'a moved tag is seen by the next request');
    }
    assert.equal(reg.asked.length, 2);
  });

  it('with a TTL reuses a resolution younger than the TTL, counted from when it was asked', async () => {
    const reg = registry();
    let now = 1_000_000;
    const tags = new TagResolver(reg.resolve, { ttlSeconds: 5, clock: { now: () => now } });
    const ref = { registry: 'r', repository: 'app', tag: 'moving' };
    const first = tags.resolve(ref);
    await tick();
    now += 1000; // the registry took a second to answer
    reg.answer(manifest(D1));
    assert.equal((await first).digest, D1);
    now += 3999; // 4.999 s after the question
    assert.equal((await tags.resolve(ref)).digest, D1, 'remembered');
    assert.equal(reg.asked.length, 1);
    now += 1;
    const again = tags.resolve(ref);
    await tick();
    assert.equal(reg.asked.length, 2, 'asked again once the TTL has passed');
    reg.answer(manifest(D2));
    assert.equal((await again).digest, D2);
  });

  it('never remembers a failure, and passes references by digest straight through', async () => {
    const reg = registry();
    const tags = new TagResolver(reg.resolve, { ttlSeconds: 60 });
    const ref = { registry: 'r', repository: 'app', tag: 'v1' };
    const failing = tags.resolve(ref);
    await tick();
    reg.answer(new ERR_REGISTRY_NOT_FOUND('manifest r/app:v1', { status: 404 }));
    await assert.rejects(failing, ERR_REGISTRY_NOT_FOUND);
    const retried = tags.resolve(ref);
    await tick();
    reg.answer(manifest(D1));
    assert.equal((await retried).digest, D1);
    assert.equal(reg.asked.length, 2);

    const pinned = { registry: 'r', repository: 'app', digest: D2 };
    for (let i = 0; i < 2; i++) {
      const byDigest = tags.resolve(pinned);
      await tick();
      reg.answer(manifest(D2));
      assert.equal((await byDigest).digest, D2);
    }
    assert.equal(reg.asked.length, 4, 'a digest is checked by the registry every time, never remembered');
  });

  it('lets a caller leave at its own deadline without failing the others sharing the round trip', async () => {
    const reg = registry();
    const tags = new TagResolver(reg.resolve);
    const ref = { registry: 'r', repository: 'app', tag: 'v1' };
    const leaving = new AbortController();
    const first = tags.resolve(ref, { signal: leaving.signal });
    const second = tags.resolve(ref);
    await tick();
    leaving.abort(new Error('deadline'));
    await assert.rejects(first, ERR_REGISTRY_DEADLINE);
    reg.answer(manifest(D1));
    assert.equal((await second).digest, D1);
    assert.equal(reg.asked.length, 1);
  });
});
