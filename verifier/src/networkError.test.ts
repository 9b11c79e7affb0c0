import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeNetworkError, withoutUrls } from './networkError.js';

function systemError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('describeNetworkError', () => {
  it('says what failed without TLS library internals or URLs', () => {
    const tls = new TypeError('fetch failed', {
      cause: systemError(
        'C0B7E2D1A17F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:355:',
        'ERR_SSL_WRONG_VERSION_NUMBER',
      ),
    });
    assert.deepEqual(describeNetworkError(tls), {
      code: 'ERR_SSL_WRONG_VERSION_NUMBER',
      reason: 'TLS handshake failed; the server may not serve TLS on this port (ERR_SSL_WRONG_VERSION_NUMBER)',
    });
    assert.equal(
      describeNetworkError(systemError('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')).reason,
      'TLS failed: the server certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN)',
    );
    // Node's own socket errors name the address, never a URL.
    assert.equal(
      describeNetworkError(systemError('connect EHOSTUNREACH 10.0.0.1:6443', 'EHOSTUNREACH')).reason,
      'connect EHOSTUNREACH 10.0.0.1:6443 (EHOSTUNREACH)',
    );
    assert.equal(
      describeNetworkError(new TypeError('fetch failed', { cause: systemError('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED') })).reason,
      'connection refused (ECONNREFUSED)',
    );
  });

  it('drops Go-style quoted request URLs and reduces other URLs to their host', () => {
    assert.equal(
      withoutUrls('failed to resolve: Get "https://127.0.0.2:5000/v2/x/app/manifests/sha256:ab": dial tcp 127.0.0.2:5000: connect: connection refused'),
      'failed to resolve: dial tcp 127.0.0.2:5000: connect: connection refused',
    );
    assert.equal(withoutUrls('token endpoint https://auth.example.com/token?scope=x said no'), 'token endpoint auth.example.com said no');
  });
});
