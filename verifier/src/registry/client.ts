// The verifier's OCI distribution client (docs/architecture.md "The request pipeline" "Registry client"): resolves tags to digests, reads
// manifests and blobs with their digests checked, and lists referrers. Every method takes the caller's
// deadline (`CallOptions`) and fails with a coded error from errors.ts whose outcome class says whether the
// image was denied or could not be verified.
import { KnaError } from '@kna/shared/errors';
import { Authenticator } from './auth.js';
import { BodyTooLargeError, declaredLength, detailOf, readCapped } from './body.js';
import { anonymous, type CredentialProvider, type Credentials } from './credentials.js';
import { parseDigest, referrersTagOf, type DigestAlgorithm, type ParsedDigest } from './digest.js';
import { apiHostOf, canonicalRegistry, repositoryUrl, usesPlainHttp, type ImageRef, type RepositoryRef, type SchemePolicy } from './endpoint.js';
import {
  ERR_REGISTRY_DIGEST_MISMATCH,
  ERR_REGISTRY_INVALID_CONTENT,
  ERR_REGISTRY_INVALID_REFERENCE,
  ERR_REGISTRY_NOT_FOUND,
  ERR_REGISTRY_PROTOCOL,
  ERR_REGISTRY_SIZE_MISMATCH,
  ERR_REGISTRY_TOO_LARGE,
  ERR_REGISTRY_UNAVAILABLE,
  ERR_REGISTRY_UNEXPECTED_STATUS,
  type HttpDetail,
  type Subject,
} from './errors.js';
import { ShapeError, manifestMediaType, parseDescriptor, parseJson, parseManifest, type Descriptor, type Manifest } from './manifest.js';
import { MANIFEST_ACCEPT, MediaType, essence, isManifestMediaType, type ManifestMediaType } from './mediaTypes.js';
import { PageLoopError, TooManyPagesError, collectReferrers, filtersApplied, nextLink, type ReferrerList, type ReferrersPage } from './referrers.js';
import { RegistryOperation, Transport, type CallOptions, type TransportOptions } from './transport.js';

export interface RegistryClientOptions extends TransportOptions {
  /** Where credentials come from. Default: anonymous for every registry. */
  readonly credentials?: CredentialProvider;
  /** Registries (`host[:port]`, or a bare host for every port) reached over plain HTTP. Default none. */
  readonly insecureRegistries?: readonly string[];
  /** `--allowInsecureRegistry`: plain HTTP for every registry. Default false. Loopback registries always use HTTP. */
  readonly allowInsecure?: boolean;
  /** Largest manifest (and referrers page / tag-schema index) read. Default 4 MiB, notation's limit. */
  readonly maxManifestBytes?: number;
  /** Most referrers API pages followed for one listing. Default 32. */
  readonly maxReferrersPages?: number;
  /** Longest a bearer token is cached. Default 1 hour (or the token's own, shorter, expiry). */
  readonly maxTokenTtlMs?: number;
}

/** What a tag or digest resolves to: the descriptor notation verifies against (media type, digest, size). */
export interface ResolvedManifest {
  readonly digest: string;
  readonly mediaType: ManifestMediaType;
  readonly size: number;
}

export interface FetchedManifest {
  readonly descriptor: ResolvedManifest;
  /** The exact bytes whose digest was checked. */
  readonly bytes: Buffer;
  readonly manifest: Manifest;
}

export interface BlobOptions extends CallOptions {
  /** Refuse (and stop reading) a blob larger than this. */
  readonly maxBytes: number;
  /** The size its descriptor gives, checked when known. */
  readonly expectedSize?: number;
}

export interface ReferrersOptions extends CallOptions {
  /** Only referrers with this artifactType (`application/vnd.cncf.notary.signature`, an SBOM type…). */
  readonly artifactType?: string;
}

// distribution-spec v1.1 "Pulling manifests": <name> and tag grammars.
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

interface Located {
  /** `http(s)://<api host>/v2/<repository>/` */
  readonly base: URL;
  /** Canonical registry (credentials) and token scope. */
  readonly target: { readonly registry: string; readonly scope: string };
  /** `registry/repository` as written, for messages. */
  readonly name: string;
}

interface ReadManifest {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly document: Record<string, unknown>;
  readonly contentType: string | null;
}

export class RegistryClient {
  readonly #transport: Transport;
  readonly #auth: Authenticator;
  readonly #policy: SchemePolicy;
  readonly #maxManifestBytes: number;
  readonly #maxReferrersPages: number;

  constructor(options: RegistryClientOptions = {}) {
    this.#transport = new Transport(options);
    this.#policy = { insecureRegistries: options.insecureRegistries ?? [], allowInsecure: options.allowInsecure ?? false };
    this.#auth = new Authenticator({
      transport: this.#transport,
      credentials: options.credentials ?? anonymous,
      schemePolicy: this.#policy,
      ...(options.maxTokenTtlMs !== undefined && { maxTokenTtlMs: options.maxTokenTtlMs }),
    });
    this.#maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
    this.#maxReferrersPages = options.maxReferrersPages ?? 32;
  }

  /** Whether the client talks plain HTTP to this registry (notation must then be given `--insecure-registry`). */
  usesPlainHttp(registry: string): boolean {
    return usesPlainHttp(apiHostOf(registry), this.#policy);
  }

  /** The credentials the client uses for a registry, for handing to notation (NOTATION_USERNAME/PASSWORD). */
  credentialsFor(registry: string, call: CallOptions = {}): Promise<Credentials | undefined> {
    return this.#auth.credentialsFor(canonicalRegistry(registry), call);
  }

  /** Exchanges in flight and waiting for a registry's API host (metrics). */
  load(registry: string): { active: number; queued: number } {
    return this.#transport.load(apiHostOf(registry));
  }

  /**
   * The digest, media type and size of what a tag (or digest) names. HEAD first (no body, and not counted
   * as a pull by Docker Hub's rate limits); GET and hash the body when HEAD is not allowed or its answer is
   * incomplete. A digest reference is checked: the registry must serve exactly that content.
   */
  async resolveDigest(ref: ImageRef, call: CallOptions = {}): Promise<ResolvedManifest> {
    const located = this.#locate(ref);
    const expected = ref.digest === undefined ? undefined : this.#digest(ref.digest, located.name);
    const reference = ref.digest ?? ref.tag;
    if (reference === undefined) throw new ERR_REGISTRY_INVALID_REFERENCE(located.name, 'it names neither a tag nor a digest');
    if (expected === undefined && !TAG.test(reference)) throw new ERR_REGISTRY_INVALID_REFERENCE(`${located.name}:${reference}`, 'invalid tag');
    const subject = `manifest ${located.name}${expected ? '@' : ':'}${reference}`;
    const url = new URL(`manifests/${reference}`, located.base);

    const head = await this.#auth.exchange(
      located.target,
      { operation: RegistryOperation.Resolve, subject, url, method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } },
      call,
      async (response): Promise<ResolvedManifest | undefined> => {
        // 405/501: HEAD not allowed; fall back to GET (distribution-spec "Checking if content exists").
        if (response.status === 405 || response.status === 501) return undefined;
        if (!response.ok) throw await statusError(response, subject);
        const digest = response.headers.get('docker-content-digest');
        const mediaType = essence(response.headers.get('content-type'));
        const size = declaredLength(response);
        // Without a digest, a manifest media type and an exact length the answer is not a descriptor.
        if (digest === null || !parseDigest(digest) || !isManifestMediaType(mediaType) || size === undefined || response.headers.has('content-encoding')) {
          return undefined;
        }
        return { digest, mediaType, size };
      },
    );
    if (head && (!expected || parseDigest(head.digest)?.algorithm === expected.algorithm)) {
      if (expected && head.digest !== ref.digest) throw new ERR_REGISTRY_DIGEST_MISMATCH(subject, ref.digest ?? '', head.digest);
      if (head.size > this.#maxManifestBytes) throw new ERR_REGISTRY_TOO_LARGE(subject, this.#maxManifestBytes);
      return head;
    }
    const read = await this.#readManifest(located, reference, subject, expected?.algorithm ?? 'sha256', RegistryOperation.Resolve, call);
    if (expected && read.digest !== ref.digest) throw new ERR_REGISTRY_DIGEST_MISMATCH(subject, ref.digest ?? '', read.digest);
    let mediaType: ManifestMediaType;
    try {
      mediaType = manifestMediaType(read.document, read.contentType);
    } catch (err) {
      throw new ERR_REGISTRY_INVALID_CONTENT(subject, (err as Error).message, { cause: err });
    }
    return { digest: read.digest, mediaType, size: read.bytes.length };
  }

  /**
   * A manifest or index by digest: at most `maxManifestBytes`, its sha256 (or sha512) equal to `digest` —
   * anything else is an integrity failure (denied) — and its JSON shape checked.
   */
  async getManifest(ref: RepositoryRef, digest: string, call: CallOptions = {}): Promise<FetchedManifest> {
    const located = this.#locate(ref);
    const expected = this.#digest(digest, located.name);
    const subject = `manifest ${located.name}@${digest}`;
    const read = await this.#readManifest(located, digest, subject, expected.algorithm, RegistryOperation.Manifest, call);
    if (read.digest !== digest) throw new ERR_REGISTRY_DIGEST_MISMATCH(subject, digest, read.digest);
    let manifest: Manifest;
    try {
      manifest = parseManifest(read.document, read.contentType);
    } catch (err) {
      throw new ERR_REGISTRY_INVALID_CONTENT(subject, (err as Error).message, { cause: err });
    }
    return { descriptor: { digest, mediaType: manifest.mediaType, size: read.bytes.length }, bytes: read.bytes, manifest };
  }

  /** A blob by digest, streamed with a byte cap (reading stops as soon as it is exceeded), digest checked. */
  async getBlob(ref: RepositoryRef, digest: string, options: BlobOptions): Promise<Buffer> {
    const located = this.#locate(ref);
    const expected = this.#digest(digest, located.name);
    const subject = `blob ${located.name}@${digest}`;
    const url = new URL(`blobs/${digest}`, located.base);
    return this.#auth.exchange(located.target, { operation: RegistryOperation.Blob, subject, url }, options, async (response) => {
      if (!response.ok) throw await statusError(response, subject);
      const declared = declaredLength(response);
      if (options.expectedSize !== undefined && declared !== undefined && declared !== options.expectedSize) {
        throw new ERR_REGISTRY_SIZE_MISMATCH(subject, options.expectedSize, declared);
      }
      const body = await readCapped(response, options.maxBytes, expected.algorithm).catch((err: unknown) => {
        throw err instanceof BodyTooLargeError ? new ERR_REGISTRY_TOO_LARGE(subject, options.maxBytes) : err;
      });
      if (body.digest !== digest) throw new ERR_REGISTRY_DIGEST_MISMATCH(subject, digest, body.digest);
      if (options.expectedSize !== undefined && body.bytes.length !== options.expectedSize) {
        throw new ERR_REGISTRY_SIZE_MISMATCH(subject, options.expectedSize, body.bytes.length);
      }
      return body.bytes;
    });
  }

  /** The referrers of `subjectDigest`: the referrers API, or the referrers tag schema where there is none. */
  async listReferrers(ref: RepositoryRef, subjectDigest: string, options: ReferrersOptions = {}): Promise<ReferrerList> {
    const located = this.#locate(ref);
    const subjectParsed = this.#digest(subjectDigest, located.name);
    const subject = `referrers of ${located.name}@${subjectDigest}`;
    const first = new URL(`referrers/${subjectDigest}`, located.base);
    if (options.artifactType !== undefined) first.searchParams.set('artifactType', options.artifactType);
    try {
      return await collectReferrers(
        {
          fetchPage: (url) => this.#referrersPage(located, url, subject, options),
          fetchTagIndex: () => this.#referrersTagIndex(located, subjectParsed, options),
        },
        { first, maxPages: this.#maxReferrersPages, ...(options.artifactType !== undefined && { artifactType: options.artifactType }) },
      );
    } catch (err) {
      if (err instanceof TooManyPagesError || err instanceof PageLoopError) throw new ERR_REGISTRY_PROTOCOL(subject, err.message, { cause: err });
      throw err;
    }
  }

  async #referrersPage(located: Located, url: URL, subject: Subject, call: CallOptions): Promise<ReferrersPage> {
    if (url.origin !== located.base.origin) {
      // Following it would send this registry's credentials elsewhere.
      throw new ERR_REGISTRY_PROTOCOL(subject, `the Link header points to another origin (${url.origin})`);
    }
    return this.#auth.exchange(
      located.target,
      { operation: RegistryOperation.Referrers, subject, url, headers: { accept: MediaType.OciIndex } },
      call,
      async (response): Promise<ReferrersPage> => {
        // distribution-spec: a registry without the API answers 404 (405/501 from proxies that do not route it).
        if (response.status === 404 || response.status === 405 || response.status === 501) return { kind: 'absent' };
        if (!response.ok) throw await statusError(response, subject);
        const type = essence(response.headers.get('content-type'));
        if (type !== MediaType.OciIndex && type !== 'application/json') {
          throw new ERR_REGISTRY_PROTOCOL(subject, `the referrers API answered with Content-Type ${JSON.stringify(type)}, not an image index`);
        }
        const body = await readCapped(response, this.#maxManifestBytes).catch((err: unknown) => {
          throw err instanceof BodyTooLargeError ? new ERR_REGISTRY_PROTOCOL(subject, `a referrers page is larger than ${this.#maxManifestBytes} bytes`) : err;
        });
        let descriptors: Descriptor[];
        try {
          descriptors = indexEntries(parseJson(body.bytes));
        } catch (err) {
          // The registry generates this answer: its fault, not the image's.
          throw new ERR_REGISTRY_PROTOCOL(subject, `invalid referrers page: ${(err as Error).message}`, { cause: err });
        }
        const next = nextLink(response.headers.get('link'), url);
        return { kind: 'page', descriptors, filtersApplied: filtersApplied(response.headers.get('oci-filters-applied')), ...(next && { next }) };
      },
    );
  }

  async #referrersTagIndex(located: Located, subjectDigest: ParsedDigest, call: CallOptions): Promise<readonly Descriptor[] | undefined> {
    const tag = referrersTagOf(subjectDigest);
    const subject = `referrers tag-schema index ${located.name}:${tag}`;
    let read: ReadManifest;
    try {
      read = await this.#readManifest(located, tag, subject, 'sha256', RegistryOperation.Referrers, call);
    } catch (err) {
      // No tag: no referrers (spec "Unavailable Referrers API").
      if (err instanceof ERR_REGISTRY_NOT_FOUND) return undefined;
      throw err;
    }
    try {
      const manifest = parseManifest(read.document, read.contentType);
      if (manifest.kind !== 'index') throw new ShapeError(`it is an image manifest (${manifest.mediaType}), not an index`);
      return manifest.manifests;
    } catch (err) {
      // Whoever pushes to the repository writes this index: a broken one is the image's problem.
      throw new ERR_REGISTRY_INVALID_CONTENT(subject, (err as Error).message, { cause: err });
    }
  }

  /** GET a manifest by tag or digest, capped, hashed with `algorithm`, parsed as a JSON object. */
  async #readManifest(
    located: Located,
    reference: string,
    subject: Subject,
    algorithm: DigestAlgorithm,
    operation: RegistryOperation,
    call: CallOptions,
  ): Promise<ReadManifest> {
    const url = new URL(`manifests/${reference}`, located.base);
    return this.#auth.exchange(located.target, { operation, subject, url, headers: { accept: MANIFEST_ACCEPT } }, call, async (response) => {
      if (response.status === 406) {
        throw new ERR_REGISTRY_INVALID_CONTENT(subject, 'the registry has it only in a media type notation cannot verify (Docker schema 1?)');
      }
      if (!response.ok) throw await statusError(response, subject);
      const body = await readCapped(response, this.#maxManifestBytes, algorithm).catch((err: unknown) => {
        throw err instanceof BodyTooLargeError ? new ERR_REGISTRY_TOO_LARGE(subject, this.#maxManifestBytes) : err;
      });
      // The registry's own claim about the content must match the content (same algorithm only: a
      // sha256 header says nothing about a sha512 digest).
      const claimed = response.headers.get('docker-content-digest');
      if (claimed !== null && parseDigest(claimed)?.algorithm === algorithm && claimed !== body.digest) {
        throw new ERR_REGISTRY_DIGEST_MISMATCH(subject, claimed, body.digest);
      }
      let document: unknown;
      try {
        document = parseJson(body.bytes);
      } catch (err) {
        throw new ERR_REGISTRY_INVALID_CONTENT(subject, (err as Error).message, { cause: err });
      }
      if (typeof document !== 'object' || document === null || Array.isArray(document)) {
        throw new ERR_REGISTRY_INVALID_CONTENT(subject, 'not a JSON object');
      }
      return { bytes: body.bytes, digest: body.digest, document: document as Record<string, unknown>, contentType: response.headers.get('content-type') };
    });
  }

  #locate(ref: RepositoryRef): Located {
    const name = `${ref.registry}/${ref.repository}`;
    if (!REGISTRY.test(ref.registry)) throw new ERR_REGISTRY_INVALID_REFERENCE(name, `invalid registry host ${JSON.stringify(ref.registry)}`);
    if (ref.repository.length > 255 || !REPOSITORY.test(ref.repository)) {
      throw new ERR_REGISTRY_INVALID_REFERENCE(name, `invalid repository name ${JSON.stringify(ref.repository)}`);
    }
    return {
      base: repositoryUrl(ref, this.#policy),
      target: { registry: canonicalRegistry(ref.registry), scope: `repository:${ref.repository}:pull` },
      name,
    };
  }

  #digest(digest: string, name: string): ParsedDigest {
    const parsed = parseDigest(digest);
    if (!parsed) throw new ERR_REGISTRY_INVALID_REFERENCE(`${name}@${digest}`, 'only sha256 and sha512 digests can be checked');
    return parsed;
  }
}

/** An image index's entries (`manifests`), for the referrers API and tag-schema pages. */
function indexEntries(document: unknown): Descriptor[] {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new ShapeError('$ must be a JSON object');
  const manifests = (document as { manifests?: unknown }).manifests;
  if (!Array.isArray(manifests)) throw new ShapeError('$.manifests must be an array');
  return manifests.map((d, i) => parseDescriptor(d, `$.manifests[${i}]`));
}

/** The error for a status the caller did not expect (401/403 and overload answers never get here). */
async function statusError(response: Response, subject: Subject): Promise<KnaError> {
  const detail: HttpDetail = await detailOf(response);
  if (response.status === 404) return new ERR_REGISTRY_NOT_FOUND(subject, detail);
  if (response.status >= 500) return new ERR_REGISTRY_UNAVAILABLE(subject, detail, '');
  return new ERR_REGISTRY_UNEXPECTED_STATUS(subject, detail);
}
