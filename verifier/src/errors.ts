// The verifier's error catalogue (the registry client has its own in registry/errors.ts).
import { defineError, Outcome } from '@kna/shared/errors';

export const VERIFIER_ERR_BAD_FLAG = defineError('VERIFIER_ERR_BAD_FLAG', Outcome.BadRequest, (detail: string) => detail);

export const VERIFIER_ERR_NO_TRUST_POLICY = defineError(
  'VERIFIER_ERR_NO_TRUST_POLICY',
  Outcome.BadRequest,
  () => 'no trust policy specified: set "trustPolicy" in the request or DEFAULT_TRUST_POLICY in the verifier environment',
);

export const VERIFIER_ERR_UNKNOWN_TRUST_POLICY = defineError(
  'VERIFIER_ERR_UNKNOWN_TRUST_POLICY',
  Outcome.BadRequest,
  (name: string, known: readonly string[]) =>
    `no trust policy named ${JSON.stringify(name)} is loaded (loaded: ${known.length > 0 ? known.map((k) => JSON.stringify(k)).join(', ') : 'none'}); ` +
    'check spec.trustPolicyName of your TrustPolicy resources and their READY status',
);

export const VERIFIER_ERR_NO_IMAGES = defineError(
  'VERIFIER_ERR_NO_IMAGES',
  Outcome.BadRequest,
  () => 'at least one image must be provided in images.containers, images.initContainers or images.ephemeralContainers',
);

export const VERIFIER_ERR_BAD_REQUEST = defineError('VERIFIER_ERR_BAD_REQUEST', Outcome.BadRequest, (detail: string) => `invalid request: ${detail}`);

export const VERIFIER_ERR_NOT_READY = defineError(
  'VERIFIER_ERR_NOT_READY',
  Outcome.CouldNotVerify,
  () => 'no trust policy bundle has been loaded yet; the verifier is not ready',
);

export const VERIFIER_ERR_BUNDLE = defineError(
  'VERIFIER_ERR_BUNDLE',
  Outcome.Configuration,
  (source: string, detail: string) => `bundle from ${source} rejected: ${detail}`,
);

export const VERIFIER_ERR_UNAUTHENTICATED = defineError('VERIFIER_ERR_UNAUTHENTICATED', Outcome.BadRequest, (detail: string) => detail);

export const VERIFIER_ERR_FORBIDDEN = defineError(
  'VERIFIER_ERR_FORBIDDEN',
  Outcome.BadRequest,
  (user: string) => `user ${JSON.stringify(user)} is not allowed to call the verifier; add it to --allowedUsers`,
);

export const VERIFIER_ERR_KUBECONFIG = defineError(
  'VERIFIER_ERR_KUBECONFIG',
  Outcome.Configuration,
  (source: string, detail: string) => `cannot use ${source} to reach the Kubernetes API for TokenReview: ${detail}`,
);

export const VERIFIER_ERR_TOKEN_REVIEW = defineError(
  'VERIFIER_ERR_TOKEN_REVIEW',
  Outcome.CouldNotVerify,
  (detail: string) => `could not review the bearer token with the Kubernetes API: ${detail}`,
);
