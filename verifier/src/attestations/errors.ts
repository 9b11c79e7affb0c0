// The attestation stage's error catalogue (docs/architecture.md "Attestations"). Every error here is a denial: the referrer
// (or its absence) is the image owner's doing and waiting will not change it. Failures of the registry
// or notation keep their own could-not-verify errors (registry/errors.ts, notation/classify.ts).
// Messages say what is wrong with the referrer; verifier.ts prefixes the type and referrer digest.
import { Outcome, defineError } from '@kna/shared/errors';

/** docs/architecture.md "The HTTP contract" "failed to find attestation <type> in image <img>" (PR #40 of the verifier). */
export const VERIFIER_ERR_ATTESTATION_MISSING = defineError(
  'VERIFIER_ERR_ATTESTATION_MISSING',
  Outcome.Denied,
  (types: readonly string[], present: readonly string[]) =>
    `${types.map((t) => `no attestation of type ${JSON.stringify(t)} found`).join('; ')} ` +
    (present.length === 0 ? '(the image has no referrers)' : `(the image's referrers have artifactType ${present.map((t) => JSON.stringify(t)).join(', ')})`),
);

/** docs/architecture.md "Attestations" "no predicate found" (0 layers), or a referrer that is an index. */
export const VERIFIER_ERR_ATTESTATION_NO_PAYLOAD = defineError(
  'VERIFIER_ERR_ATTESTATION_NO_PAYLOAD',
  Outcome.Denied,
  (why: string) => `the referrer has no payload: ${why}; an attestation with conditions must be an image manifest with exactly one layer`,
);

/** docs/architecture.md "Attestations" "multiple layers in predicate not supported". */
export const VERIFIER_ERR_ATTESTATION_MULTIPLE_LAYERS = defineError(
  'VERIFIER_ERR_ATTESTATION_MULTIPLE_LAYERS',
  Outcome.Denied,
  (layers: number) => `the referrer has ${layers} layers; an attestation payload must be a single layer`,
);

export const VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE = defineError(
  'VERIFIER_ERR_ATTESTATION_PAYLOAD_TOO_LARGE',
  Outcome.Denied,
  (what: string, limit: number) => `the payload ${what} is larger than the ${limit}-byte limit (--maxAttestationBytes) and was not evaluated`,
);

export const VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING = defineError(
  'VERIFIER_ERR_ATTESTATION_PAYLOAD_ENCODING',
  Outcome.Denied,
  (why: string) => `the payload cannot be decoded: ${why}`,
);

export const VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON = defineError(
  'VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_JSON',
  Outcome.Denied,
  (why: string) => `the payload is not JSON (${why})`,
);

/** docs/architecture.md "Attestations": the payload is merged at the root of the evaluation context, so it must be an object. */
export const VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_OBJECT = defineError(
  'VERIFIER_ERR_ATTESTATION_PAYLOAD_NOT_OBJECT',
  Outcome.Denied,
  (actual: string) => `the payload is ${actual}, not a JSON object; conditions are evaluated with a JSON object as their root`,
);

/**
 * Not in the original: the referrer's own manifest must name this image as its subject. Without the
 * check, whoever can push to a repository could copy another image's signed attestation and list it
 * under this image (the tag-schema index is an ordinary, writable tag).
 */
export const VERIFIER_ERR_ATTESTATION_SUBJECT_MISMATCH = defineError(
  'VERIFIER_ERR_ATTESTATION_SUBJECT_MISMATCH',
  Outcome.Denied,
  (actual: string | undefined) =>
    actual === undefined
      ? "the referrer's manifest has no subject, so it is not an attestation of this image"
      : `the referrer's manifest names subject ${actual}, not this image: it is another image's attestation`,
);

/** Not in the original: the registry's listing and the referrer's manifest must agree on the artifactType. */
export const VERIFIER_ERR_ATTESTATION_TYPE_MISMATCH = defineError(
  'VERIFIER_ERR_ATTESTATION_TYPE_MISMATCH',
  Outcome.Denied,
  (listed: string, actual: string | undefined) =>
    `the registry lists the referrer as ${JSON.stringify(listed)} but its manifest's artifactType is ${actual === undefined ? 'absent' : JSON.stringify(actual)}`,
);

/** docs/architecture.md "The HTTP contract" "failed to verify conditions …: failed to evaluate conditions: <messages>". */
export const VERIFIER_ERR_ATTESTATION_CONDITIONS = defineError(
  'VERIFIER_ERR_ATTESTATION_CONDITIONS',
  Outcome.Denied,
  (messages: string) => `conditions not met: ${messages === '' ? '(the failing conditions have no message)' : messages}`,
);

/** A variable of a condition could not be resolved on this payload (an unknown key is an error, not false). */
export const VERIFIER_ERR_ATTESTATION_CONDITIONS_UNEVALUABLE = defineError(
  'VERIFIER_ERR_ATTESTATION_CONDITIONS_UNEVALUABLE',
  Outcome.Denied,
  (why: string) => `conditions could not be evaluated on the payload: ${why}`,
);
