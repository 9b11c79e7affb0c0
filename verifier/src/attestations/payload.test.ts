import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_OBJECT,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE,
} from './errors.js';
import { decodePayload, oneLine } from './payload.js';

const LIMIT = { maxBytes: 1024 };
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('decodePayload (docs/architecture.md "Attestations")', () => {
  it('parses a JSON object', () => {
    assert.deepEqual(decodePayload(json({ creationInfo: { licenseListVersion: '3.17' } }), LIMIT), { creationInfo: { licenseListVersion: '3.17' } });
  });

  it('decompresses gzip by its magic bytes, whatever the layer media type said', () => {
    assert.deepEqual(decodePayload(gzipSync(json({ a: 1 })), LIMIT), { a: 1 });
  });

  it('stops decompressing at the limit (a gzip bomb is denied, not inflated)', () => {
    const bomb = gzipSync(Buffer.from(`{"a":"${'x'.repeat(1_000_000)}"}`));
    assert.ok(bomb.length < LIMIT.maxBytes * 2);
    assert.throws(
      () => decodePayload(bomb, LIMIT),
      (err: unknown) => {
        assert.ok(err instanceof VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE);
        assert.match(err.message, /once decompressed is larger than the 1024-byte limit \(--maxAttestationBytes\)/);
        return true;
      },
    );
    assert.deepEqual(decodePayload(gzipSync(Buffer.from(`{"a":"${'x'.repeat(1000)}"}`)), LIMIT).a, 'x'.repeat(1000), 'just under the limit is fine');
  });

  it('names a gzip header on bytes that do not decompress, and zstd, which Node 20 cannot decode', () => {
    assert.throws(() => decodePayload(Buffer.from([0x1f, 0x8b, 1, 2, 3]), LIMIT), VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING);
    assert.throws(
      () => decodePayload(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]), LIMIT),
      (err: unknown) => err instanceof VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING && /zstd-compressed/.test(err.message),
    );
  });

  it('denies text that is not JSON, on one line whatever the text holds', () => {
    assert.throws(
      () => decodePayload(Buffer.from('SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n'), LIMIT),
      (err: unknown) => {
        assert.ok(err instanceof VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON);
        assert.match(err.message, /^the payload is not JSON \(/);
        assert.ok(!err.message.includes('\n'), err.message);
        return true;
      },
    );
    assert.throws(() => decodePayload(Buffer.from('\ufeff{}'), LIMIT), VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON, 'a byte order mark is not JSON, as in Go');
    assert.throws(() => decodePayload(Buffer.alloc(0), LIMIT), VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON);
  });

  it('denies JSON that is not an object, naming what it is', () => {
    for (const [value, what] of [
      [[1, 2], 'a JSON array'],
      ['sbom', 'a JSON string'],
      [3.17, 'a JSON number'],
      [true, 'a JSON boolean'],
      [null, 'null'],
    ] as const) {
      assert.throws(
        () => decodePayload(json(value), LIMIT),
        (err: unknown) => err instanceof VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_OBJECT && err.message.startsWith(`the payload is ${what}, not a JSON object`),
      );
    }
  });

  it('keeps a "__proto__" key as data', () => {
    const payload = decodePayload(Buffer.from('{"__proto__": {"polluted": true}}'), LIMIT);
    assert.equal(Object.getPrototypeOf(payload), Object.prototype);
    assert.deepEqual(Object.keys(payload), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('oneLine', () => {
  it('escapes control characters and line separators', () => {
    assert.equal(oneLine('a\nb\r\tc\u2028d\u0000'), 'a\\u000ab\\u000d\\u0009c\\u2028d\\u0000');
    assert.equal(oneLine('plain text: ok'), 'plain text: ok');
  });
});
