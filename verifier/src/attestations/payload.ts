// An attestation's payload: the bytes of its single layer, decompressed when they start with the gzip
// magic number (docs/architecture.md "Attestations": the original sniffed the bytes, not the layer's media type,
// so `application/json` layers that are in fact gzipped work, and so do `+gzip` ones), then parsed as
// JSON that must be an object, because it becomes the root of the conditions' JMESPath.
import { gunzipSync } from 'node:zlib';
import {
  VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_OBJECT,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE,
} from './errors.js';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

export interface PayloadOptions {
  /** --maxAttestationBytes: bounds the bytes as stored and, for gzip, as decompressed. */
  readonly maxBytes: number;
}

export type JsonObject = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a JSON array';
  return `a JSON ${typeof value}`;
}

/** Control characters escaped, so untrusted text cannot break the answer's one line per image. */
export function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The payload bytes, decompressed if gzipped; the decompressed size is capped too (a gzip bomb stops at the limit). */
function payloadBytes(bytes: Buffer, options: PayloadOptions): Buffer {
  if (bytes.subarray(0, ZSTD_MAGIC.length).equals(ZSTD_MAGIC)) {
    // The original also accepted zstd; Node 20's zlib has no zstd decoder.
    throw new VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING(
      'it is zstd-compressed, which this verifier does not decompress; attach it uncompressed or gzip-compressed',
    );
  }
  if (!bytes.subarray(0, GZIP_MAGIC.length).equals(GZIP_MAGIC)) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: options.maxBytes });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE('once decompressed', options.maxBytes, { cause: err });
    }
    throw new VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING(`it starts like gzip but does not decompress (${(err as Error).message})`, { cause: err });
  }
}

/**
 * The payload as the JSON object the conditions are evaluated on. Like Go's encoding/json, a byte order
 * mark is not JSON; JSON.parse keeps `__proto__` keys as ordinary own keys, so no payload reaches a prototype.
 */
export function decodePayload(bytes: Buffer, options: PayloadOptions): JsonObject {
  const text = payloadBytes(bytes, options).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 quotes the start of the text, which may hold line breaks: the answer is one line per image.
    throw new VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON(oneLine((err as Error).message), { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_OBJECT(describe(value));
  return value as JsonObject;
}
