// The registry client's error catalogue. Every failure says which registry, repository and reference it
// concerns, the HTTP status when there was one, and what to do about it.
//
// Outcome classes (docs/architecture.md "The HTTP contract"). The rule: a failure is `denied` when it is the image's own doing —
// something the image's owner controls and that waiting will not change — and `could-not-verify` when
// the registry, the network, the credentials or the deadline kept the verifier from finding out.
//
// - Not found (404) is `denied`. An image that does not exist cannot be verified, and the original
//   service answered 406 for it (docs/architecture.md "The request pipeline", "failed to resolve digest"). It also
//   must not be `could-not-verify`: with `--onInfraError=allow` a pod naming a tag that does not exist
//   yet would be admitted unpinned, and whoever can push that tag later decides what kubelet runs.
// - Digest or size mismatch is `denied`: the registry (or something between it and the verifier) served
//   bytes that are not the ones the reference names. That is an integrity failure, never a reason to
//   retry or to fail open.
// - Oversized or malformed content that the image's owner pushed (a manifest, a referrers tag-schema
//   index) is `denied`; a malformed answer that the registry itself generates (a referrers API page, a
//   token response, a digest header) is `could-not-verify`.
// - A reference the client cannot even ask for (bad repository name, unsupported digest algorithm) is a
//   `bad-request`, as shared's image-reference parser classifies malformed references; the pipeline parses
//   references before they get here, so this is a safety net.
// - 401/403, 429, 5xx, timeouts, refused connections, DNS and TLS failures are `could-not-verify`: the
//   image may be fine, the verifier could not tell. Some registries answer 401 rather than 404 for a
//   repository that does not exist (so as not to reveal it); those stay `could-not-verify`, which is why
//   `--onInfraError` defaults to deny.
import { Outcome, defineError } from '@kna/shared/errors';

/** What a failed call was about: "manifest localhost:5000/app:v1", "blob …@sha256:…", "referrers of …". */
export type Subject = string;

export interface HttpDetail {
  readonly status: number;
  /** The first distribution-spec error of the body (`{"errors":[{code,message}]}`), sanitised. */
  readonly registryError?: string;
}

function http(detail: HttpDetail): string {
  return `HTTP ${detail.status}${detail.registryError ? ` ${detail.registryError}` : ''}`;
}

export const ERR_REGISTRY_NOT_FOUND = defineError(
  'KNA_ERR_REGISTRY_NOT_FOUND',
  Outcome.Denied,
  (subject: Subject, detail: HttpDetail) =>
    `${subject} does not exist (${http(detail)}): an image that does not exist cannot be verified; ` +
    'check the tag or digest in the pod spec and that it was pushed to this registry and repository',
);

export const ERR_REGISTRY_DIGEST_MISMATCH = defineError(
  'KNA_ERR_REGISTRY_DIGEST_MISMATCH',
  Outcome.Denied,
  (subject: Subject, expected: string, actual: string) =>
    `${subject}: integrity failure: the registry served content with digest ${actual} for ${expected}; ` +
    'content that does not match its digest is never trusted (a faulty or compromised registry or proxy)',
);

export const ERR_REGISTRY_SIZE_MISMATCH = defineError(
  'KNA_ERR_REGISTRY_SIZE_MISMATCH',
  Outcome.Denied,
  (subject: Subject, expected: number, actual: number) =>
    `${subject}: integrity failure: the registry served ${actual} bytes where the descriptor says ${expected}; ` +
    'content that does not match its descriptor is never trusted',
);

export const ERR_REGISTRY_TOO_LARGE = defineError(
  'KNA_ERR_REGISTRY_TOO_LARGE',
  Outcome.Denied,
  (subject: Subject, limit: number) =>
    `${subject} is larger than the ${limit}-byte limit and was not read; ` +
    'manifests over 4 MiB are refused as notation refuses them, payloads by the configured attestation limit',
);

export const ERR_REGISTRY_INVALID_CONTENT = defineError(
  'KNA_ERR_REGISTRY_INVALID_CONTENT',
  Outcome.Denied,
  (subject: Subject, reason: string) => `${subject} is not valid: ${reason}; push it again with an OCI-compliant tool`,
);

export const ERR_REGISTRY_INVALID_REFERENCE = defineError(
  'KNA_ERR_REGISTRY_INVALID_REFERENCE',
  Outcome.BadRequest,
  (reference: string, reason: string) => `image reference ${JSON.stringify(reference)} cannot be verified: ${reason}`,
);

export const ERR_REGISTRY_NO_CREDENTIALS = defineError(
  'KNA_ERR_REGISTRY_NO_CREDENTIALS',
  Outcome.CouldNotVerify,
  (subject: Subject, host: string, detail: HttpDetail) =>
    `${subject}: the registry requires authentication (${http(detail)}) and the verifier has no credentials for ${host}; ` +
    'add a pull secret to --imagePullSecrets (ECR: give the verifier an IAM role with ecr:GetAuthorizationToken)',
);

export const ERR_REGISTRY_CREDENTIALS_REJECTED = defineError(
  'KNA_ERR_REGISTRY_CREDENTIALS_REJECTED',
  Outcome.CouldNotVerify,
  (subject: Subject, host: string, detail: HttpDetail) =>
    `${subject}: the registry rejected the verifier's credentials for ${host} (${http(detail)}); ` +
    'check that the pull secret is current and grants pull access to this repository',
);

export const ERR_REGISTRY_FORBIDDEN = defineError(
  'KNA_ERR_REGISTRY_FORBIDDEN',
  Outcome.CouldNotVerify,
  (subject: Subject, host: string, detail: HttpDetail) =>
    `${subject}: access denied by ${host} (${http(detail)}); grant the verifier's credentials pull access to this repository`,
);

export const ERR_REGISTRY_AUTH_CHALLENGE = defineError(
  'KNA_ERR_REGISTRY_AUTH_CHALLENGE',
  Outcome.CouldNotVerify,
  (subject: Subject, host: string, reason: string) =>
    `${subject}: cannot authenticate to ${host}: ${reason}; the registry's authentication setup is not usable by the verifier`,
);

export const ERR_REGISTRY_CREDENTIALS_UNAVAILABLE = defineError(
  'KNA_ERR_REGISTRY_CREDENTIALS_UNAVAILABLE',
  Outcome.CouldNotVerify,
  (host: string, reason: string) => `cannot get registry credentials for ${host}: ${reason}`,
);

export const ERR_REGISTRY_RATE_LIMITED = defineError(
  'KNA_ERR_REGISTRY_RATE_LIMITED',
  Outcome.CouldNotVerify,
  (subject: Subject, detail: HttpDetail, why: string) =>
    `${subject}: the registry is throttling the verifier (${http(detail)}) and ${why}; ` + 'lower the verification concurrency or raise the registry quota',
);

export const ERR_REGISTRY_UNAVAILABLE = defineError(
  'KNA_ERR_REGISTRY_UNAVAILABLE',
  Outcome.CouldNotVerify,
  (subject: Subject, detail: HttpDetail, why: string) =>
    `${subject}: the registry failed (${http(detail)})${why ? ` and ${why}` : ''}; try again when the registry is healthy`,
);

export const ERR_REGISTRY_UNEXPECTED_STATUS = defineError(
  'KNA_ERR_REGISTRY_UNEXPECTED_STATUS',
  Outcome.CouldNotVerify,
  (subject: Subject, detail: HttpDetail) =>
    `${subject}: unexpected answer from the registry (${http(detail)}); the registry may not implement the OCI distribution API here`,
);

export const ERR_REGISTRY_PROTOCOL = defineError(
  'KNA_ERR_REGISTRY_PROTOCOL',
  Outcome.CouldNotVerify,
  (subject: Subject, reason: string) => `${subject}: the registry's answer breaks the OCI distribution spec: ${reason}`,
);

export const ERR_REGISTRY_UNREACHABLE = defineError(
  'KNA_ERR_REGISTRY_UNREACHABLE',
  Outcome.CouldNotVerify,
  (subject: Subject, host: string, reason: string) =>
    `${subject}: cannot reach ${host}: ${reason}; check DNS, network policies and egress to the registry` +
    (/cert|tls|ssl/i.test(reason) ? ', and that the registry certificate is trusted (NODE_EXTRA_CA_CERTS)' : ''),
);

export const ERR_REGISTRY_TIMEOUT = defineError(
  'KNA_ERR_REGISTRY_TIMEOUT',
  Outcome.CouldNotVerify,
  (subject: Subject, host: string, timeoutMs: number) => `${subject}: ${host} did not answer within ${timeoutMs} ms; the registry is slow or unreachable`,
);

export const ERR_REGISTRY_DEADLINE = defineError(
  'KNA_ERR_REGISTRY_DEADLINE',
  Outcome.CouldNotVerify,
  (subject: Subject) => `${subject}: the request deadline passed while waiting for the registry`,
);
