import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf, isDigest, parseDigest, referrersTagOf } from './digest.js';

const HEX64 = 'a'.repeat(64);

describe('digests', () => {
  it('accepts sha256 and sha512 digests and nothing else', () => {
    assert.deepEqual(parseDigest(`sha256:${HEX64}`), { algorithm: 'sha256', encoded: HEX64 });
    assert.deepEqual(parseDigest(`sha512:${'b'.repeat(128)}`), { algorithm: 'sha512', encoded: 'b'.repeat(128) });
    for (const bad of [
      `sha256:${'a'.repeat(63)}`,
      `sha256:${'A'.repeat(64)}`,
      `sha512:${HEX64}`,
      `md5:${'a'.repeat(32)}`,
      `blake3:${HEX64}`,
      HEX64,
      `:${HEX64}`,
      `sha256:${HEX64}/../x`,
    ]) {
      assert.equal(isDigest(bad), false, bad);
    }
  });

  it('hashes content with the algorithm asked for', () => {
    assert.equal(digestOf(Buffer.from('')), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.match(digestOf(Buffer.from(''), 'sha512'), /^sha512:cf83e135/);
  });

  it('names the referrers tag-schema tag <alg>-<ref>, the reference limited to 64 characters', () => {
    assert.equal(referrersTagOf({ algorithm: 'sha256', encoded: HEX64 }), `sha256-${HEX64}`);
    assert.equal(referrersTagOf({ algorithm: 'sha512', encoded: 'c'.repeat(128) }), `sha512-${'c'.repeat(64)}`);
  });
});
