import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KnaError } from '@kna/shared/errors';
import type { CheckImagesRequest } from '../request/schema.js';
import { requestedImages } from './images.js';

const request = (registry: string, path: string, tag: string): CheckImagesRequest => ({
  images: { containers: { app: { registry, path, tag, jsonPointer: '/spec/containers/0/image' } } },
});

describe('requestedImages: parsed references are kept between requests', () => {
  it('gives every request that names an image the same parsed reference, frozen so that no request can change it for another', () => {
    const first = requestedImages(request('LOCALHOST:5000', 'team/app', 'v1'))[0]?.parsed;
    const second = requestedImages(request('LOCALHOST:5000', 'team/app', 'v1'))[0]?.parsed;
    assert.deepEqual(first, { registry: 'localhost:5000', repository: 'team/app', name: 'localhost:5000/team/app', tag: 'v1' });
    assert.equal(second, first);
    assert.ok(Object.isFrozen(first));
  });

  it('keys by the reference as written: another tag or registry spelling is parsed on its own', () => {
    const v1 = requestedImages(request('registry.example', 'team/app', 'v1'))[0]?.parsed;
    const v2 = requestedImages(request('registry.example', 'team/app', 'v2'))[0]?.parsed;
    assert.equal(v2?.tag, 'v2');
    assert.equal(v1?.tag, 'v1');
    const hub = requestedImages(request('index.docker.io', 'busybox', 'v1'))[0]?.parsed;
    assert.equal(hub?.name, 'docker.io/library/busybox');
  });

  it('refuses a malformed reference on every request (a failure is not kept)', () => {
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => requestedImages(request('registry.example', 'Team/App', 'v1')),
        (err: unknown) => err instanceof KnaError && err.code === 'VERIFIER_ERR_BAD_REQUEST' && /must be lowercase/.test(err.message),
      );
    }
  });
});
