import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkSigned, checkUnsigned, UnexpectedAnswer } from './answers.js';

const pinned = `127.0.0.1:5000/demo/app@sha256:${'a'.repeat(64)}`;
const patch = JSON.stringify({ verified: true, results: [{ op: 'replace', path: '/spec/containers/0/image', value: pinned }] });

describe('the demo checks the answers it explains', () => {
  it('accepts the expected answers', () => {
    checkSigned({ status: 200, body: patch }, pinned);
    checkUnsigned({ status: 406, body: 'container "app" image …: no notation signature found; sign it with AWS Signer\n' });
  });

  it('fails on any other answer for the signed image, saying what it expected and what it got', () => {
    for (const answer of [
      { status: 406, body: 'no notation signature found' },
      { status: 503, body: 'the verifier is overloaded' },
      { status: 200, body: JSON.stringify({ verified: true, results: [] }) },
      { status: 200, body: patch.replace('aaaa', 'bbbb') },
      { status: 200, body: 'not json' },
    ]) {
      assert.throws(
        () => checkSigned(answer, pinned),
        (err: unknown) => err instanceof UnexpectedAnswer && /^expected HTTP 200 with the patch .* got HTTP \d+: /.test(err.message),
      );
    }
  });

  it('fails on any other answer for the unsigned image', () => {
    for (const answer of [
      { status: 200, body: patch },
      { status: 406, body: 'signature verification failed: untrusted' },
      { status: 503, body: 'could not be verified' },
    ]) {
      assert.throws(() => checkUnsigned(answer), /expected HTTP 406 "no notation signature found" for the unsigned image, got HTTP/);
    }
  });
});
