// The verification pipeline of one /checkimages request (docs/architecture.md "The request pipeline"): select the trust policy,
// then for every selected image, in parallel, resolve its tag to a digest once with the verifier's
// own registry client, look the (policy version, canonical repository, digest) up in the cache, and
// on a miss run notation on `<registry>/<repository>@<digest>`, in the canonical form the key has. Identical images in several containers are verified once. Everything
// after the resolution uses the digest, so a tag moved after a verification never passes on that
// verification.
import { KnaError, Outcome, errorMessage } from '@kna/shared/errors';
import { pinnedReference, type ImageReference } from '@kna/shared/image';
import type { CacheSource } from '../cache/verdicts.js';
import type { LoadedBundle, LoadedPolicy } from '../bundle/store.js';
import type { AttestationVerifier } from '../attestations/verifier.js';
import { validateAttestations } from '../attestations/validate.js';
import { VERIFIER_ERR_NOT_READY, VERIFIER_ERR_NO_TRUST_POLICY, VERIFIER_ERR_UNKNOWN_TRUST_POLICY } from '../errors.js';
import type { CheckImagesRequest } from '../request/schema.js';
import { FailureKind, VerifyOutcome } from '../notation/classify.js';
import type { ManifestDescriptor } from '../notation/engine.js';
import { ERR_REGISTRY_NOT_FOUND } from '../registry/errors.js';
import type { SignatureCheck } from '../signature/check.js';
import { nothingSelectedWarning, requestedImages, type ImageGroupKey, type RequestedImage } from './images.js';
import { requiredAttestations } from './workList.js';

/** The digest an image reference names now, with its manifest's media type and size. */
interface ResolvedDigest extends ManifestDescriptor {
  readonly digest: string;
}

/** Resolves an image reference (tag or digest) to the digest of its manifest or index. */
export interface DigestResolver {
  resolveDigest(image: ImageReference, signal: AbortSignal): Promise<ResolvedDigest>;
}

export interface PipelineDeps {
  readonly bundle: () => LoadedBundle | undefined;
  readonly resolver: DigestResolver;
  /** notation, its cache and the registries' credentials, shared with the attestation stage. */
  readonly signatures: SignatureCheck;
  readonly attestations?: AttestationVerifier;
  /** DEFAULT_TRUST_POLICY */
  readonly defaultTrustPolicy?: string | undefined;
}

export const Stage = {
  Resolve: 'resolve',
  Signature: 'signature',
  Attestation: 'attestation',
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

/** notation's outcomes (the one vocabulary from notation to the answer), plus images imageReferences did not select. */
type ImageOutcome = VerifyOutcome | 'not-selected';

/** What verifying one distinct image found: the part of its report every container using it shares. */
interface ImageVerification {
  readonly outcome: VerifyOutcome;
  readonly digest: string | undefined;
  readonly stage: Stage;
  readonly kind: string;
  readonly reason: string;
  readonly warnings: readonly string[];
  readonly cache: CacheSource | undefined;
}

/**
 * One container's image and what became of it. Every field is always present (undefined when it does not
 * apply), so that every report has one shape: reports are made for every image of every request.
 */
export interface ImageReport {
  readonly group: ImageGroupKey;
  readonly container: string;
  /** The image as written in the pod. */
  readonly image: string;
  readonly jsonPointer: string;
  readonly outcome: ImageOutcome;
  readonly reason: string;
  readonly digest: string | undefined;
  readonly stage: Stage | undefined;
  readonly kind: string | undefined;
  readonly warnings: readonly string[] | undefined;
  readonly cache: CacheSource | undefined;
  /** `<registry>/<path>@<digest>` for verified images: the patch value. */
  readonly pinned: string | undefined;
}

export interface PipelineResult {
  readonly trustPolicy: string;
  readonly policyVersion: string;
  readonly reports: readonly ImageReport[];
  /** About the request as a whole (imageReferences that selected nothing); answered as `warnings`. */
  readonly warnings: readonly string[];
}

/** Selects the trust policy: the request's, else DEFAULT_TRUST_POLICY (docs/architecture.md "The bundle contract"). */
function selectPolicy(bundle: LoadedBundle | undefined, requested: string | undefined, fallback: string | undefined): LoadedPolicy {
  if (!bundle) throw new VERIFIER_ERR_NOT_READY();
  const name = requested !== undefined && requested !== '' ? requested : fallback;
  if (name === undefined || name === '') throw new VERIFIER_ERR_NO_TRUST_POLICY();
  const policy = bundle.policies.get(name);
  if (!policy) throw new VERIFIER_ERR_UNKNOWN_TRUST_POLICY(name, [...bundle.policies.keys()].sort());
  return policy;
}

/**
 * A failed resolution. Only an error the registry client classified as infrastructure is
 * could-not-verify (which --onInfraError=allow may admit); anything else, including an error nobody
 * classified, denies — the same rule as for notation's outcomes and attestations.
 */
function resolveFailure(err: unknown): ImageVerification {
  const reason = errorMessage(err);
  if (err instanceof KnaError && err.outcome === Outcome.CouldNotVerify) {
    return { outcome: 'could-not-verify', digest: undefined, stage: Stage.Resolve, kind: FailureKind.Infrastructure, reason, warnings: [], cache: undefined };
  }
  const kind = err instanceof ERR_REGISTRY_NOT_FOUND ? FailureKind.NotFound : FailureKind.Other;
  return { outcome: 'denied', digest: undefined, stage: Stage.Resolve, kind, reason, warnings: [], cache: undefined };
}

export async function checkImages(deps: PipelineDeps, request: CheckImagesRequest, signal: AbortSignal): Promise<PipelineResult> {
  // The request's own problems first (bad images, malformed attestations), then the trust policy it names.
  const images = requestedImages(request);
  validateAttestations(request.attestations);
  const policy = selectPolicy(deps.bundle(), request.trustPolicy, deps.defaultTrustPolicy);
  const attestations = request.attestations ?? [];

  // One verification per distinct image reference as written, shared by every container that uses it.
  // Keyed by the written string, not the canonical one: the attestations an image must carry are chosen
  // by matching it (workList.ts), and everything else the verification reads is the same for the whole
  // request (policy, deadline).
  const verifications = new Map<string, Promise<ImageVerification>>();
  const verifyOnce = (image: RequestedImage, parsed: ImageReference): Promise<ImageVerification> => {
    let pending = verifications.get(image.reference);
    if (!pending) {
      const required = deps.attestations && attestations.length > 0 ? requiredAttestations(attestations, image) : [];
      pending = verifyImage(deps, parsed, policy, required, signal);
      verifications.set(image.reference, pending);
    }
    return pending;
  };

  const reports = await Promise.all(
    images.map(async (image): Promise<ImageReport> => {
      if (!image.selected || !image.parsed) return notSelectedReport(image);
      return imageReport(image, await verifyOnce(image, image.parsed));
    }),
  );
  const nothingSelected = nothingSelectedWarning(request, images);
  return { trustPolicy: policy.name, policyVersion: policy.version, reports, warnings: nothingSelected === undefined ? [] : [nothingSelected] };
}

function notSelectedReport(image: RequestedImage): ImageReport {
  return {
    group: image.group,
    container: image.container,
    image: image.reference,
    jsonPointer: image.info.jsonPointer ?? '',
    outcome: 'not-selected',
    reason: 'not matched by imageReferences',
    digest: undefined,
    stage: undefined,
    kind: undefined,
    warnings: undefined,
    cache: undefined,
    pinned: undefined,
  };
}

/** A selected image's report, built field by field: object spreads here cost ≈ 20 µs per 3-image pod (docs/benchmarks.md). */
function imageReport(image: RequestedImage, result: ImageVerification): ImageReport {
  const { outcome, digest } = result;
  return {
    group: image.group,
    container: image.container,
    image: image.reference,
    jsonPointer: image.info.jsonPointer ?? '',
    outcome,
    reason: result.reason,
    digest,
    stage: result.stage,
    kind: result.kind,
    warnings: result.warnings,
    cache: result.cache,
    pinned:
      outcome === 'verified' && digest !== undefined ? pinnedReference({ registry: image.info.registry ?? '', path: image.info.path }, digest) : undefined,
  };
}

async function verifyImage(
  deps: PipelineDeps,
  parsed: ImageReference,
  policy: LoadedPolicy,
  required: ReturnType<typeof requiredAttestations>,
  signal: AbortSignal,
): Promise<ImageVerification> {
  // An image pinned by digest needs no resolution: the digest is what gets verified (on a cache miss
  // notation reads it from the registry, and fails if it is not there). Pods that Kyverno already
  // patched to digests are therefore answered from the cache without a registry round trip. A tag's
  // resolution also describes the manifest, which a cache miss hands to notation (VerifyRequest.manifest).
  let digest = parsed.digest;
  let manifest: ManifestDescriptor | undefined;
  if (digest === undefined) {
    try {
      const resolved = await deps.resolver.resolveDigest(parsed, signal);
      digest = resolved.digest;
      manifest = { mediaType: resolved.mediaType, size: resolved.size };
    } catch (err) {
      return resolveFailure(err);
    }
  }

  const { verdict, source } = await deps.signatures.check({ policy, repository: parsed, digest, signal, ...(manifest !== undefined && { manifest }) });
  const signature: ImageVerification = {
    outcome: verdict.outcome,
    digest,
    stage: Stage.Signature,
    kind: verdict.kind,
    reason: verdict.reason,
    warnings: verdict.warnings,
    cache: source,
  };
  if (verdict.outcome !== VerifyOutcome.Verified || !deps.attestations || required.length === 0) return signature;

  const attested = await deps.attestations.verify({ repository: parsed, digest, policy, required, signal });
  if (attested.outcome === 'verified') return signature;
  return { ...signature, outcome: attested.outcome, stage: Stage.Attestation, kind: attested.kind, reason: attested.reason };
}
