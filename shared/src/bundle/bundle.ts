// The bundle: everything the verifier needs from the cluster's TrustPolicies and TrustStores, in one ConfigMap key
// written by the operator and mounted by every verifier pod (docs/architecture.md "The bundle contract"). Versions are content hashes over
// canonical JSON, so equal content always has the same version and any change yields a new one:
// - policy version = sha256 of {document, certificates of the stores it references, pluginConfig} — part of every
//   cache key, so a policy change invalidates exactly its own cache entries;
// - bundle version = sha256 of the whole bundle without its `version` field.
import { X509Certificate } from 'node:crypto';
import { Ajv } from 'ajv';
import { canonicalJson, sha256Hex } from '../canonical/canonical.js';
import { formatProblems, Reason, type Problem } from '../crd/problem.js';
import { TRUST_STORE_TYPES, type TrustStoreType } from '../crd/trust-store.js';
import { schemaProblems } from '../crd/validate.js';
import { Outcome, defineError, errorMessage } from '../errors.js';
import { TRUST_STORE_NAME_PATTERN, validateTrustPolicyDocument, type TrustPolicyDocument } from '../trust-policy/document.js';

export const BUNDLE_API_VERSION = 'bundle.notation.nirmata.io/v1';
/** The ConfigMap key that holds the bundle text. */
export const BUNDLE_KEY = 'bundle.json';
/**
 * Largest bundle text written: a ConfigMap's data may hold 1 MiB (1,048,576 bytes); this stays well below it,
 * leaving room for metadata and labels, as docs/architecture.md "The bundle contract" asks (1,000,000 minus 40,000 bytes of headroom).
 */
export const BUNDLE_MAX_BYTES = 1_000_000 - 40_000;

export interface BundleTrustStore {
  type: TrustStoreType;
  /** spec.trustStoreName */
  name: string;
  /** PEM, one certificate each, normalised (see inspectTrustStore). */
  certificates: string[];
}

export interface BundleTrustPolicy {
  /** Policy version (sha256 hex). */
  version: string;
  /** The notation trust policy document (trustpolicy.json). */
  document: TrustPolicyDocument;
  /** "<type>:<name>" of the stores the document references, sorted, no duplicates. */
  trustStores: string[];
}

export interface Bundle {
  apiVersion: typeof BUNDLE_API_VERSION;
  /** sha256 hex of canonicalJson(bundle without `version`). */
  version: string;
  pluginConfig: Record<string, string>;
  /** Key "<type>:<name>". */
  trustStores: Record<string, BundleTrustStore>;
  /** Key spec.trustPolicyName. */
  trustPolicies: Record<string, BundleTrustPolicy>;
}

/** A bundle read from disk is unusable; the verifier keeps serving the last good one (docs/architecture.md "The bundle contract"). */
export const ERR_INVALID_BUNDLE = defineError('KNA_ERR_INVALID_BUNDLE', Outcome.Configuration, (problems: string) => `invalid bundle: ${problems}`);

/** The "<type>:<name>" key of a trust store, as trust policies reference it. */
export function trustStoreKey(type: string, name: string): string {
  return `${type}:${name}`;
}

/** The stores a document references, sorted and de-duplicated. */
export function referencedTrustStores(document: TrustPolicyDocument): string[] {
  return [...new Set(document.trustPolicies.flatMap((s) => s.trustStores ?? []))].sort();
}

/** Policy version: sha256 of canonical {document, certificates by referenced store, pluginConfig} (docs/architecture.md "The bundle contract"). */
export function policyVersion(
  document: TrustPolicyDocument,
  trustStores: Readonly<Record<string, Pick<BundleTrustStore, 'certificates'>>>,
  pluginConfig: Readonly<Record<string, string>>,
): string {
  const certificates: Record<string, string[]> = {};
  for (const key of referencedTrustStores(document)) certificates[key] = trustStores[key]?.certificates ?? [];
  return sha256Hex(canonicalJson({ document, certificates, pluginConfig }));
}

/** Bundle version: sha256 of the canonical bundle without its `version`. */
export function bundleVersion(bundle: Omit<Bundle, 'version'>): string {
  const { apiVersion, pluginConfig, trustStores, trustPolicies } = bundle;
  return sha256Hex(canonicalJson({ apiVersion, pluginConfig, trustStores, trustPolicies }));
}

// The shape of a bundle file. Statement contents are checked by validateTrustPolicyDocument afterwards.
const statementSchema = {
  type: 'object',
  required: ['name', 'registryScopes', 'signatureVerification'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    registryScopes: { type: 'array', items: { type: 'string' } },
    signatureVerification: {
      type: 'object',
      required: ['level'],
      additionalProperties: false,
      properties: {
        level: { type: 'string' },
        override: { type: 'object', additionalProperties: { type: 'string' } },
        verifyTimestamp: { type: 'string' },
      },
    },
    trustStores: { type: 'array', items: { type: 'string' } },
    trustedIdentities: { type: 'array', items: { type: 'string' } },
  },
} as const;

const bundleSchema = {
  type: 'object',
  required: ['apiVersion', 'version', 'pluginConfig', 'trustStores', 'trustPolicies'],
  additionalProperties: false,
  properties: {
    apiVersion: { enum: [BUNDLE_API_VERSION] },
    version: { type: 'string', pattern: '^[a-f0-9]{64}$' },
    pluginConfig: { type: 'object', additionalProperties: { type: 'string' } },
    trustStores: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['type', 'name', 'certificates'],
        additionalProperties: false,
        properties: {
          type: { enum: TRUST_STORE_TYPES },
          name: { type: 'string', pattern: TRUST_STORE_NAME_PATTERN.source },
          certificates: { type: 'array', minItems: 1, items: { type: 'string' } },
        },
      },
    },
    trustPolicies: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['version', 'document', 'trustStores'],
        additionalProperties: false,
        properties: {
          version: { type: 'string', pattern: '^[a-f0-9]{64}$' },
          document: {
            type: 'object',
            required: ['version', 'trustPolicies'],
            additionalProperties: false,
            properties: { version: { type: 'string' }, trustPolicies: { type: 'array', items: statementSchema } },
          },
          trustStores: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

let validateShape: ReturnType<Ajv['compile']> | undefined;

const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/;

/**
 * Parses and checks a bundle read from the mounted ConfigMap: the shape, every trust policy document against
 * notation's rules, certificates that parse, references that resolve, and versions that match their content
 * (a hand-edited or truncated bundle is refused rather than half-used). Throws ERR_INVALID_BUNDLE naming every
 * problem found.
 */
export function parseBundle(text: string): Bundle {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ERR_INVALID_BUNDLE(`not JSON (${errorMessage(err)})`, { cause: err });
  }
  validateShape ??= new Ajv({ allErrors: true, strict: true }).compile(bundleSchema);
  if (!validateShape(value)) throw new ERR_INVALID_BUNDLE(formatProblems(schemaProblems('', validateShape.errors, value)).replace(/\n/g, '; '));
  const bundle = value as Bundle;
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message, reason: Reason.InvalidSpec });

  for (const [key, store] of Object.entries(bundle.trustStores)) {
    const path = `trustStores[${JSON.stringify(key)}]`;
    if (key !== trustStoreKey(store.type, store.name)) add(path, `key does not match "<type>:<name>" = "${trustStoreKey(store.type, store.name)}"`);
    store.certificates.forEach((pem, i) => {
      try {
        if (!PEM_CERTIFICATE.test(pem)) throw new Error('not one normalised PEM certificate');
        new X509Certificate(pem);
      } catch (err) {
        add(`${path}.certificates[${i}]`, `not a certificate (${errorMessage(err)})`);
      }
    });
  }
  for (const [name, policy] of Object.entries(bundle.trustPolicies)) {
    const path = `trustPolicies[${JSON.stringify(name)}]`;
    for (const problem of validateTrustPolicyDocument(policy.document, { path: `${path}.document` })) problems.push(problem);
    const expected = referencedTrustStores(policy.document);
    if (canonicalJson(policy.trustStores) !== canonicalJson(expected))
      add(`${path}.trustStores`, `must list the stores the document references, sorted: ${JSON.stringify(expected)}`);
    for (const key of expected)
      if (!Object.hasOwn(bundle.trustStores, key)) add(`${path}.document`, `references trust store "${key}", which the bundle does not contain`);
    if (problems.length === 0 && policy.version !== policyVersion(policy.document, bundle.trustStores, bundle.pluginConfig)) {
      add(`${path}.version`, 'does not match the policy content (the bundle was modified or truncated)');
    }
  }
  if (problems.length === 0 && bundle.version !== bundleVersion(bundle))
    add('version', 'does not match the bundle content (the bundle was modified or truncated)');
  if (problems.length > 0) throw new ERR_INVALID_BUNDLE(formatProblems(problems).replace(/\n/g, '; '));
  return bundle;
}
