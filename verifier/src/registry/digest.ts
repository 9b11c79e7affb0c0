// Content digests (OCI image-spec descriptor.md "Digests"): `<algorithm>:<encoded>`. The client checks
// every manifest and blob it reads against the digest it asked for (distribution-spec "Pulling manifests":
// the client MUST verify content against the digest used to fetch it), so it only accepts the algorithms
// it can compute: the two the image spec registers.
import { createHash, type Hash } from 'node:crypto';

const ALGORITHMS = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
} as const;

export type DigestAlgorithm = keyof typeof ALGORITHMS;

export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  /** Lower-case hex. */
  readonly encoded: string;
}

/** Parses a digest, or returns undefined for anything that is not a well-formed sha256/sha512 digest. */
export function parseDigest(value: string): ParsedDigest | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0) return undefined;
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return undefined;
  return ALGORITHMS[algorithm].test(encoded) ? { algorithm, encoded } : undefined;
}

export function isDigest(value: string): boolean {
  return parseDigest(value) !== undefined;
}

/** An incremental hasher for a digest algorithm; `digest()` gives `<algorithm>:<hex>`. */
export class ContentHasher {
  readonly algorithm: DigestAlgorithm;
  #hash: Hash;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
  }

  digest(): string {
    return `${this.algorithm}:${this.#hash.digest('hex')}`;
  }
}

export function digestOf(content: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  const hasher = new ContentHasher(algorithm);
  hasher.update(content);
  return hasher.digest();
}

/**
 * The tag under which a registry without the referrers API keeps the referrers of `subject`
 * (distribution-spec v1.1 "Referrers Tag Schema": `<alg>-<ref>`, the reference limited to 64 characters).
 */
export function referrersTagOf(subject: ParsedDigest): string {
  return `${subject.algorithm}-${subject.encoded.slice(0, 64)}`;
}
