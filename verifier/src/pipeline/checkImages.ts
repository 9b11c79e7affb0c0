// The verification pipeline of one /checkimages request (DESIGN.md §6): select the trust policy,
// then for every selected image, in parallel, resolve its tag to a digest once with the verifier's
// own registry client, look the (policy version, canonical repository, digest) up in the cache, and
// on a miss run notation on `<registry>/<repository>@<digest>`, in the canonical form the key has. Identical images in several containers are verified once. Everything
// after the resolution uses the digest, so a tag moved after a verification never passes on that
// verification.
import { KnaError, Outcome, pinnedReference, type ImageReference } from '@kna/shared';
import { imageKey, type CacheSource, type Verdict, type VerdictCache } from '../cache/verdicts.js';
import type { LoadedBundle, LoadedPolicy } from '../bundle/store.js';
import { validateAttestations } from '../attestations/validate.js';
import { VERIFIER_ERR_NOT_READY, VERIFIER_ERR_NO_TRUST_POLICY, VERIFIER_ERR_UNKNOWN_TRUST_POLICY } from '../errors.js';
import type { CheckImagesRequest } from '../http/requestSchema.js';
import { FailureKind, VerifyOutcome } from '../notation/classify.js';
import type { Credentials, VerifyRequest, VerifyResult } from '../notation/runner.js';
import { ERR_REGISTRY_NOT_FOUND } from '../registry/errors.js';
import { nothingSelectedWarning, requestedImages, type ImageGroupKey, type RequestedImage } from './images.js';

/** Resolves an image reference (tag or digest) to the digest of its manifest or index. */
export interface DigestResolver {
  resolveDigest(image: ImageReference, signal: AbortSignal): Promise<{ digest: string }>;
}

export interface SignatureVerifier {
  verify(request: VerifyRequest): Promise<VerifyResult>;
}

/** Verifies the attestations requested for one verified image (DESIGN.md §7; attestations/verifier.ts). */
export interface AttestationVerifier {
  verify(input: AttestationInput): Promise<AttestationOutcome>;
}

export interface AttestationInput {
  readonly image: RequestedImage & { parsed: ImageReference };
  readonly digest: string;
  readonly policy: LoadedPolicy;
  readonly pluginConfig: Readonly<Record<string, string>>;
  readonly request: CheckImagesRequest;
  readonly signal: AbortSignal;
}

export interface AttestationOutcome {
  readonly outcome: 'verified' | 'denied' | 'could-not-verify';
  readonly reason: string;
  readonly kind: string;
}

export interface PipelineDeps {
  readonly bundle: () => LoadedBundle | undefined;
  readonly resolver: DigestResolver;
  readonly notation: SignatureVerifier;
  readonly cache: VerdictCache;
  readonly attestations?: AttestationVerifier;
  /** Registry credentials for notation (NOTATION_USERNAME/PASSWORD). */
  readonly credentials?: (registry: string) => Promise<Credentials | undefined>;
  /** Whether notation must use plain HTTP for this registry host. */
  readonly insecureRegistry?: (registry: string) => boolean;
  /** DEFAULT_TRUST_POLICY */
  readonly defaultTrustPolicy?: string | undefined;
}

export const Stage = {
  Resolve: 'resolve',
  Signature: 'signature',
  Attestation: 'attestation',
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

export type ImageOutcome = 'verified' | 'skipped' | 'denied' | 'could-not-verify' | 'not-selected';

export interface ImageReport {
  readonly group: ImageGroupKey;
  readonly container: string;
  /** The image as written in the pod. */
  readonly image: string;
  readonly jsonPointer: string;
  readonly outcome: ImageOutcome;
  readonly digest?: string;
  /** `<registry>/<path>@<digest>` for verified images: the patch value. */
  readonly pinned?: string;
  readonly stage?: Stage;
  readonly kind?: string;
  readonly reason: string;
  readonly warnings?: readonly string[];
  readonly cache?: CacheSource;
}

export interface PipelineResult {
  readonly trustPolicy: string;
  readonly policyVersion: string;
  readonly reports: readonly ImageReport[];
  /** About the request as a whole (imageReferences that selected nothing); answered as `warnings`. */
  readonly warnings: readonly string[];
}

/** Selects the trust policy: the request's, else DEFAULT_TRUST_POLICY (original-service.md §4.4). */
export function selectPolicy(bundle: LoadedBundle | undefined, requested: string | undefined, fallback: string | undefined): LoadedPolicy {
  if (!bundle) throw new VERIFIER_ERR_NOT_READY();
  const name = requested !== undefined && requested !== '' ? requested : fallback;
  if (name === undefined || name === '') throw new VERIFIER_ERR_NO_TRUST_POLICY();
  const policy = bundle.policies.get(name);
  if (!policy) throw new VERIFIER_ERR_UNKNOWN_TRUST_POLICY(name, [...bundle.policies.keys()].sort());
  return policy;
}

interface ImageVerification {
  readonly outcome: Exclude<ImageOutcome, 'not-selected'>;
  readonly digest?: string;
  readonly stage?: Stage;
  readonly kind: string;
  readonly reason: string;
  readonly warnings: readonly string[];
  readonly cache?: CacheSource;
}

/**
 * A failed resolution. Only an error the registry client classified as infrastructure is
 * could-not-verify (which --onInfraError=allow may admit); anything else, including an error nobody
 * classified, denies — the same rule as for notation's outcomes and attestations.
 */
function resolveFailure(err: unknown): ImageVerification {
  const reason = err instanceof Error ? err.message : String(err);
  if (err instanceof KnaError && err.outcome === Outcome.CouldNotVerify) {
    return { outcome: 'could-not-verify', stage: Stage.Resolve, kind: FailureKind.Infrastructure, reason, warnings: [] };
  }
  const kind = err instanceof ERR_REGISTRY_NOT_FOUND ? FailureKind.NotFound : FailureKind.Other;
  return { outcome: 'denied', stage: Stage.Resolve, kind, reason, warnings: [] };
}

export async function checkImages(deps: PipelineDeps, request: CheckImagesRequest, signal: AbortSignal): Promise<PipelineResult> {
  // The request's own problems first (bad images, malformed attestations), then the trust policy it names.
  const images = requestedImages(request);
  validateAttestations(request.attestations);
  const bundle = deps.bundle();
  const policy = selectPolicy(bundle, request.trustPolicy, deps.defaultTrustPolicy);
  const pluginConfig = bundle?.pluginConfig ?? {};

  // One verification per distinct image reference as written, shared by every container that uses it.
  // Keyed by the written string, not the canonical one: the attestations an image must carry are chosen
  // by matching it (attestations/workList.ts), and everything else the verification reads is the same
  // for the whole request (policy, attestations, deadline).
  const verifications = new Map<string, Promise<ImageVerification>>();
  const verifyOnce = (image: RequestedImage & { parsed: ImageReference }): Promise<ImageVerification> => {
    let pending = verifications.get(image.reference);
    if (!pending) {
      pending = verifyImage(deps, image, policy, pluginConfig, request, signal);
      verifications.set(image.reference, pending);
    }
    return pending;
  };

  const reports = await Promise.all(
    images.map(async (image): Promise<ImageReport> => {
      const base = { group: image.group, container: image.container, image: image.reference, jsonPointer: image.info.jsonPointer ?? '' };
      if (!image.selected || !image.parsed) return { ...base, outcome: 'not-selected', reason: 'not matched by imageReferences' };
      const result = await verifyOnce({ ...image, parsed: image.parsed });
      const report: ImageReport = {
        ...base,
        outcome: result.outcome,
        reason: result.reason,
        kind: result.kind,
        warnings: result.warnings,
        ...(result.digest !== undefined && { digest: result.digest }),
        ...(result.stage !== undefined && { stage: result.stage }),
        ...(result.cache !== undefined && { cache: result.cache }),
      };
      if (result.outcome === 'verified' && result.digest !== undefined) {
        return { ...report, pinned: pinnedReference({ registry: image.info.registry ?? '', path: image.info.path }, result.digest) };
      }
      return report;
    }),
  );
  const nothingSelected = nothingSelectedWarning(request, images);
  return { trustPolicy: policy.name, policyVersion: policy.version, reports, warnings: nothingSelected === undefined ? [] : [nothingSelected] };
}

async function verifyImage(
  deps: PipelineDeps,
  image: RequestedImage & { parsed: ImageReference },
  policy: LoadedPolicy,
  pluginConfig: Readonly<Record<string, string>>,
  request: CheckImagesRequest,
  signal: AbortSignal,
): Promise<ImageVerification> {
  const { parsed } = image;
  // An image pinned by digest needs no resolution: the digest is what gets verified (on a cache miss
  // notation reads it from the registry, and fails if it is not there). Pods that Kyverno already
  // patched to digests are therefore answered from the cache without a registry round trip.
  let digest = parsed.digest;
  if (digest === undefined) {
    try {
      ({ digest } = await deps.resolver.resolveDigest(parsed, signal));
    } catch (err) {
      return resolveFailure(err);
    }
  }

  const key = imageKey(policy.version, parsed, digest);
  const { verdict, source } = await deps.cache.getOrCompute(key, async (): Promise<Verdict> => {
    const credentials = await deps.credentials?.(parsed.registry);
    const result = await deps.notation.verify({
      reference: `${parsed.registry}/${parsed.repository}@${digest}`,
      configDir: policy.configDir,
      pluginConfig,
      signal,
      ...(credentials !== undefined && { credentials }),
      ...(deps.insecureRegistry?.(parsed.registry) === true && { insecureRegistry: true }),
    });
    return {
      outcome: result.outcome,
      digest,
      reason: result.reason,
      kind: result.kind,
      warnings: result.warnings,
      verifiedAt: new Date().toISOString(),
    };
  });
  const signature: ImageVerification = {
    outcome: verdict.outcome,
    digest,
    stage: Stage.Signature,
    kind: verdict.kind,
    reason: verdict.reason,
    warnings: verdict.warnings,
    cache: source,
  };
  if (verdict.outcome !== VerifyOutcome.Verified || !deps.attestations || !request.attestations?.length) return signature;

  const attested = await deps.attestations.verify({ image, digest, policy, pluginConfig, request, signal });
  if (attested.outcome === 'verified') return signature;
  return { ...signature, outcome: attested.outcome, stage: Stage.Attestation, kind: attested.kind, reason: attested.reason };
}
