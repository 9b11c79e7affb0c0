// The attestation stage of the pipeline (docs/architecture.md "Attestations"): for an image whose
// signature verified, list its referrers once by the digest the pipeline resolved, require every
// requested type among their artifactTypes, and check every matching referrer — its own notation
// signature under the same trust policy, and, when the type has conditions, its single-layer JSON
// payload against them. Any failure fails the image; nothing that went wrong is ever read as a pass.
//
// Fixes over the original, docs/architecture.md "Compatibility with the original service": the tag is not resolved a second time (
// the listing uses the pipeline's digest), and same-type referrers are all checked, every request
// (the original's cache could skip some of them non-deterministically).
import { KnaError, Outcome, errorMessage } from '@kna/shared/errors';
import { canonicalJson, sha256Hex } from '@kna/shared/canonical';
import { evaluateConditions, type AnyAllConditions, type ConditionsResult } from '@kna/shared/conditions';
import type { LoadedPolicy } from '../bundle/store.js';
import { attestationKey, type Verdict, type VerdictCache } from '../cache/verdicts.js';
import { VERIFIER_ERR_BAD_FLAG } from '../errors.js';
import { FailureKind, VerifyOutcome } from '../notation/classify.js';
import type { SignatureCheck } from '../signature/check.js';
import { ERR_REGISTRY_TOO_LARGE, type Descriptor, type FetchedManifest, type RegistryClient, type RepositoryRef } from '../registry/index.js';
import {
  VERIFIER_ERR_ATTESTATION_CONDITIONS,
  VERIFIER_ERR_ATTESTATION_CONDITIONS_UNEVALUABLE,
  VERIFIER_ERR_ATTESTATION_MISSING,
  VERIFIER_ERR_ATTESTATION_MULTIPLE_LAYERS,
  VERIFIER_ERR_ATTESTATION_NO_PAYLOAD,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_OBJECT,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE,
  VERIFIER_ERR_ATTESTATION_SUBJECT_MISMATCH,
  VERIFIER_ERR_ATTESTATION_TYPE_MISMATCH,
} from './errors.js';
import { decodePayload, oneLine, type JsonObject } from './payload.js';

/** One attestation type an image must carry (the pipeline derives them from the request: pipeline/workList.ts). */
export interface RequiredAttestation {
  /** The referrer's artifactType, matched exactly (case-sensitive). */
  readonly type: string;
  /** Condition blocks, ANDed; none = the referrer must only exist and be signed. */
  readonly conditions: readonly AnyAllConditions[];
}

/** The attestations one verified image must carry. */
export interface AttestationInput {
  /** Where the image and its referrers are (canonical registry). */
  readonly repository: RepositoryRef;
  /** The digest the pipeline resolved: referrers are listed by it, never by a tag resolved again. */
  readonly digest: string;
  readonly policy: LoadedPolicy;
  /** At least one. */
  readonly required: readonly RequiredAttestation[];
  readonly signal: AbortSignal;
}

/** The stage's result: one of notation's outcomes (skipped is never returned) with its failure kind. */
export interface AttestationOutcome {
  readonly outcome: Exclude<VerifyOutcome, 'skipped'>;
  readonly reason: string;
  readonly kind: string;
}

/** The stage as the pipeline sees it. */
export interface AttestationVerifier {
  verify(input: AttestationInput): Promise<AttestationOutcome>;
}

/** What the stage needs of the registry client (tests drive it with a fake registry). */
export type AttestationRegistry = Pick<RegistryClient, 'listReferrers' | 'getManifest' | 'getBlob'>;

/** Failure kinds of this stage, for metrics (a bounded set); signature failures keep notation's kinds. */
export const AttestationFailureKind = {
  Missing: 'attestation-missing',
  /** The referrer is not what the listing says: wrong subject or type, unreadable manifest. */
  Invalid: 'attestation-invalid',
  Payload: 'attestation-payload',
  Conditions: 'attestation-conditions',
  /** A bug: an error nobody classified (denied, never allowed). */
  Internal: 'attestation-internal',
} as const;

export interface ReferrerAttestationVerifierOptions {
  readonly registry: AttestationRegistry;
  /** The pipeline's signature check (same notation runner, semaphore, metrics, credentials and cache). */
  readonly signatures: SignatureCheck;
  /** --maxAttestationBytes: largest payload read, and largest once decompressed. */
  readonly maxPayloadBytes: number;
  /** Failing referrers named in one answer before "and N more". Default 5. */
  readonly maxReportedFailures?: number;
}

/** One referrer's (or the listing's) result, in the pipeline's terms. */
type Checked = AttestationOutcome;

const PAYLOAD_ERRORS = [
  VERIFIER_ERR_ATTESTATION_NO_PAYLOAD,
  VERIFIER_ERR_ATTESTATION_MULTIPLE_LAYERS,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON,
  VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_OBJECT,
].map((e) => e.code);
const CONDITION_ERRORS = [VERIFIER_ERR_ATTESTATION_CONDITIONS, VERIFIER_ERR_ATTESTATION_CONDITIONS_UNEVALUABLE].map((e) => e.code);

/**
 * Registry or notation unavailable (a could-not-verify KnaError) → could-not-verify; every other error —
 * the referrer's content, a registry denial, a bad-request safety net, a bug — is a denial, so that
 * --onInfraError=allow can never admit an image because something unforeseen broke.
 */
function classifyFailure(err: unknown): Checked {
  if (err instanceof KnaError) {
    if (err.outcome === Outcome.CouldNotVerify) return { outcome: 'could-not-verify', kind: FailureKind.Infrastructure, reason: oneLine(err.message) };
    const kind = PAYLOAD_ERRORS.includes(err.code)
      ? AttestationFailureKind.Payload
      : CONDITION_ERRORS.includes(err.code)
        ? AttestationFailureKind.Conditions
        : err.outcome === Outcome.Denied
          ? AttestationFailureKind.Invalid
          : AttestationFailureKind.Internal;
    return { outcome: 'denied', kind, reason: oneLine(err.message) };
  }
  return { outcome: 'denied', kind: AttestationFailureKind.Internal, reason: `internal error while checking the attestation: ${oneLine(errorMessage(err))}` };
}

/** The artifactType of a referrer's manifest, as the referrers API derives it (distribution-spec "Listing Referrers"). */
function artifactTypeOf(fetched: FetchedManifest): string | undefined {
  const { manifest } = fetched;
  return manifest.artifactType ?? (manifest.kind === 'manifest' ? manifest.config.mediaType : undefined);
}

export class ReferrerAttestationVerifier implements AttestationVerifier {
  readonly #options: ReferrerAttestationVerifierOptions;
  readonly #cache: VerdictCache;

  constructor(options: ReferrerAttestationVerifierOptions) {
    if (!Number.isSafeInteger(options.maxPayloadBytes) || options.maxPayloadBytes <= 0) {
      throw new VERIFIER_ERR_BAD_FLAG(`--maxAttestationBytes must be a positive number of bytes, not ${String(options.maxPayloadBytes)}`);
    }
    this.#options = options;
    this.#cache = options.signatures.cache;
  }

  async verify(input: AttestationInput): Promise<AttestationOutcome> {
    try {
      return await this.#verify(input);
    } catch (err) {
      return classifyFailure(err);
    }
  }

  async #verify(input: AttestationInput): Promise<AttestationOutcome> {
    const { required, repository } = input;
    if (required.length === 0) return { outcome: 'verified', kind: FailureKind.None, reason: 'no attestation is required for this image' };

    let referrers: readonly Descriptor[];
    try {
      // The digest the pipeline resolved: one tag resolution per image per request.
      ({ referrers } = await this.#options.registry.listReferrers(repository, input.digest, { signal: input.signal }));
    } catch (err) {
      const failure = classifyFailure(err);
      return { ...failure, reason: `cannot list the image's referrers: ${failure.reason}` };
    }

    const matching = (type: string) => referrers.filter((d) => d.artifactType === type);
    const missing = required.filter((r) => matching(r.type).length === 0).map((r) => r.type);
    if (missing.length > 0) {
      const present = [...new Set(referrers.map((d) => d.artifactType ?? '(none)'))].sort().slice(0, 10);
      return { outcome: 'denied', kind: AttestationFailureKind.Missing, reason: oneLine(new VERIFIER_ERR_ATTESTATION_MISSING(missing, present).message) };
    }

    // Every matching referrer of every type at once: notation's semaphore and the registry client's
    // per-host limit bound the real concurrency.
    const results = await Promise.all(required.flatMap((r) => matching(r.type).map((d) => this.#checkReferrer(input, repository, r, d))));
    const denied = results.filter((r) => r.outcome === 'denied');
    const unverifiable = results.filter((r) => r.outcome === 'could-not-verify');
    const failing = denied.length > 0 ? denied : unverifiable;
    const first = failing[0];
    if (first === undefined) {
      return { outcome: 'verified', kind: FailureKind.None, reason: `${results.length} attestation referrer${results.length === 1 ? '' : 's'} verified` };
    }
    const limit = this.#options.maxReportedFailures ?? 5;
    const more = failing.length > limit ? `; and ${failing.length - limit} more` : '';
    return {
      outcome: first.outcome === 'denied' ? 'denied' : 'could-not-verify',
      kind: first.kind,
      reason:
        failing
          .slice(0, limit)
          .map((r) => r.reason)
          .join('; ') + more,
    };
  }

  async #checkReferrer(input: AttestationInput, repository: RepositoryRef, required: RequiredAttestation, referrer: Descriptor): Promise<Checked> {
    // Keyed by the referrer's digest: a verdict is about content that cannot change under its digest,
    // and the listing itself is never cached, so a referrer attached after a pass is checked on the very
    // next request (a key by the image's digest alone would hide it for the TTL, as would the original's
    // per-image key). The repository is in the key because the referrer's own signature lives there and
    // the trust-policy statement is chosen by it: the same referrer digest in another repository is
    // another verdict. The subject digest is hashed in because the verdict includes "this referrer names
    // that image as its subject"; the same referrer listed under another image must not reuse it.
    const hash = sha256Hex(canonicalJson({ subject: input.digest, type: required.type, conditions: required.conditions }));
    const key = attestationKey(input.policy.version, repository, referrer.digest, hash);
    const { verdict } = await this.#cache.getOrCompute(key, () => this.#verifyReferrer(input, repository, required, referrer));
    const outcome = verdict.outcome === 'denied' || verdict.outcome === 'could-not-verify' ? verdict.outcome : 'verified';
    return { outcome, kind: verdict.kind, reason: `attestation ${JSON.stringify(required.type)} (referrer ${referrer.digest}): ${verdict.reason}` };
  }

  /** Never rejects: every failure becomes a denied or could-not-verify verdict. */
  async #verifyReferrer(input: AttestationInput, repository: RepositoryRef, required: RequiredAttestation, referrer: Descriptor): Promise<Verdict> {
    const verdict = (checked: Checked): Verdict => ({
      ...checked,
      digest: referrer.digest,
      warnings: [],
      verifiedAt: new Date().toISOString(),
    });
    // The signature and the manifest are independent reads: fetch them together.
    const [signature, manifest] = await Promise.allSettled([
      this.#options.signatures.check({ policy: input.policy, repository, digest: referrer.digest, signal: input.signal }).then(({ verdict }) => verdict),
      this.#options.registry.getManifest(repository, referrer.digest, { signal: input.signal }),
    ]);
    if (signature.status === 'rejected') return verdict(classifyFailure(signature.reason));
    const signed = signature.value;
    if (signed.outcome === VerifyOutcome.Denied || signed.outcome === VerifyOutcome.CouldNotVerify) {
      return verdict({ outcome: signed.outcome, kind: signed.kind, reason: signed.reason });
    }
    if (signed.outcome === VerifyOutcome.Skipped) {
      // docs/architecture.md "Attestations": a skip-level statement means no further checks.
      return verdict({ outcome: 'verified', kind: FailureKind.None, reason: 'trust policy level is skip: accepted without checks' });
    }
    if (manifest.status === 'rejected') return verdict(classifyFailure(manifest.reason));
    try {
      this.#checkBinding(manifest.value, input.digest, required.type);
      // As in the original: a type without conditions needs only a signed referrer; its payload is never read (it
      // need not even be JSON).
      if (required.conditions.length === 0) return verdict({ outcome: 'verified', kind: FailureKind.None, reason: 'signature verified' });
      const payload = await this.#payload(repository, manifest.value, input.signal);
      let result: ConditionsResult;
      try {
        result = evaluateConditions(required.conditions, payload);
      } catch (err) {
        // An unknown key in a path is an error in Kyverno, not false, and so a denial here.
        if (err instanceof KnaError && err.outcome === Outcome.Denied) throw new VERIFIER_ERR_ATTESTATION_CONDITIONS_UNEVALUABLE(err.message, { cause: err });
        throw err;
      }
      if (!result.passed) throw new VERIFIER_ERR_ATTESTATION_CONDITIONS(result.message);
      return verdict({ outcome: 'verified', kind: FailureKind.None, reason: result.message === '' ? 'conditions met' : `conditions met: ${result.message}` });
    } catch (err) {
      return verdict(classifyFailure(err));
    }
  }

  #checkBinding(fetched: FetchedManifest, subjectDigest: string, type: string): void {
    const subject = fetched.manifest.subject?.digest;
    if (subject !== subjectDigest) throw new VERIFIER_ERR_ATTESTATION_SUBJECT_MISMATCH(subject);
    const actual = artifactTypeOf(fetched);
    if (actual !== type) throw new VERIFIER_ERR_ATTESTATION_TYPE_MISMATCH(type, actual);
  }

  /** docs/architecture.md "Attestations": exactly one layer, read with the size cap, gzip sniffed, a JSON object. */
  async #payload(repository: RepositoryRef, fetched: FetchedManifest, signal: AbortSignal): Promise<JsonObject> {
    const { manifest } = fetched;
    if (manifest.kind !== 'manifest') throw new VERIFIER_ERR_ATTESTATION_NO_PAYLOAD('it is an image index, not a manifest with a layer');
    const [layer, ...others] = manifest.layers;
    if (layer === undefined) throw new VERIFIER_ERR_ATTESTATION_NO_PAYLOAD('its manifest has no layers');
    if (others.length > 0) throw new VERIFIER_ERR_ATTESTATION_MULTIPLE_LAYERS(manifest.layers.length);
    const maxBytes = this.#options.maxPayloadBytes;
    if (layer.size > maxBytes) throw new VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE(`(${layer.size} bytes)`, maxBytes);
    let bytes: Buffer;
    try {
      bytes = await this.#options.registry.getBlob(repository, layer.digest, { maxBytes, expectedSize: layer.size, signal });
    } catch (err) {
      if (err instanceof ERR_REGISTRY_TOO_LARGE) throw new VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE(`(${layer.digest})`, maxBytes, { cause: err });
      throw err;
    }
    return decodePayload(bytes, { maxBytes });
  }
}
