import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSignPayloadBodyRace } from './harness.js';

// The one signing failure the harness retries (see sign() in harness.ts), as notation printed it in CI.
const RACE =
  'Error: failed to sign with the plugin com.amazonaws.signer.notation.plugin: plugin failed to sign with following error: ' +
  'operation error signer: SignPayload, https response error StatusCode: 200, RequestID: 4fd8ee2e-f9dd-4d52-81d7-5ceb67ff107d, ' +
  'deserialization failed, failed to decode response body, read tcp 127.0.0.1:59806->127.0.0.1:33993: use of closed network connection';

describe('isSignPayloadBodyRace', () => {
  it('recognises the dropped connection after a 200 SignPayload answer', () => {
    assert.equal(isSignPayloadBodyRace({ code: 1, stdout: '', stderr: RACE }), true);
  });

  it('does not retry any other signing failure', () => {
    const others = [
      RACE.replace('StatusCode: 200', 'StatusCode: 403'),
      RACE.replace('use of closed network connection', 'connection reset by peer'),
      'Error: failed to sign with the plugin com.amazonaws.signer.notation.plugin: operation error signer: SignPayload, https response error StatusCode: 400, ValidationException: profile revoked',
      'Error: localhost:5000/p/r@sha256:00: not found',
    ];
    for (const stderr of others) assert.equal(isSignPayloadBodyRace({ code: 1, stdout: '', stderr }), false, stderr);
    assert.equal(isSignPayloadBodyRace({ code: 0, stdout: 'Successfully signed', stderr: RACE }), false);
  });
});
