// TrustPolicy: a notation trust policy document as a cluster-scoped custom resource. Spec fields exactly as the
// original CRD (docs/architecture.md "Custom resources") so existing manifests apply unchanged, plus
// `signatureVerification.verifyTimestamp` (notation's specification), which the original schema pruned,
// and a status subresource with printer columns (docs/architecture.md "Custom resources").
import { API_VERSION, commonStatusProperties, type ObjectMeta } from './common.js';
import { structural, type FromSchema } from './schema.js';

export const TRUST_POLICY_KIND = 'TrustPolicy';
export const TRUST_POLICY_PLURAL = 'trustpolicies';

/** notation's verification levels (notation's specification). */
export const VERIFICATION_LEVELS = ['strict', 'permissive', 'audit', 'skip'] as const;
export type VerificationLevel = (typeof VERIFICATION_LEVELS)[number];
/** The validation types `override` may name; integrity can be named but not overridden (notation's rule). */
export const VALIDATION_TYPES = ['integrity', 'authenticity', 'authenticTimestamp', 'expiry', 'revocation'] as const;
export type ValidationType = (typeof VALIDATION_TYPES)[number];
export const VALIDATION_ACTIONS = ['enforce', 'log', 'skip'] as const;
export type ValidationAction = (typeof VALIDATION_ACTIONS)[number];
export const VERIFY_TIMESTAMP_OPTIONS = ['always', 'afterCertExpiry'] as const;
export type VerifyTimestampOption = (typeof VERIFY_TIMESTAMP_OPTIONS)[number];

/** One notation trust policy statement. */
export const trustPolicyStatementSchema = structural({
  type: 'object',
  description: 'A notation trust policy statement.',
  required: ['name', 'registryScopes', 'signatureVerification'],
  properties: {
    name: { type: 'string', minLength: 1, description: 'Statement name, unique within the policy.' },
    registryScopes: {
      type: 'array',
      minItems: 1,
      description: 'Repositories the statement applies to: "<registry>/<repository>" (no tag, no scheme, no wildcard), or "*" alone.',
      items: { type: 'string' },
    },
    signatureVerification: {
      type: 'object',
      description: 'How signatures are verified.',
      required: ['level'],
      properties: {
        level: {
          type: 'string',
          enum: VERIFICATION_LEVELS,
          description: 'strict | permissive | audit | skip (notation verification levels).',
        },
        override: {
          type: 'object',
          // The original CRD types this as a map without key validation; unknown keys are reported in status
          // by the operator (notation rejects them), so existing manifests keep applying.
          description: 'Per validation type action: keys integrity | authenticity | authenticTimestamp | expiry | revocation.',
          additionalProperties: { type: 'string', enum: VALIDATION_ACTIONS },
        },
        verifyTimestamp: {
          type: 'string',
          enum: VERIFY_TIMESTAMP_OPTIONS,
          description: 'always | afterCertExpiry: when to verify an RFC 3161 timestamp countersignature.',
        },
      },
    },
    trustStores: {
      type: 'array',
      description: 'Trust stores as "<type>:<trustStoreName>", type ca | signingAuthority | tsa (AWS Signer: signingAuthority).',
      items: { type: 'string' },
    },
    trustedIdentities: {
      type: 'array',
      description: 'Trusted identities: AWS Signer signing-profile ARNs, "x509.subject: <DN>", or "*" alone (not with AWS Signer).',
      items: { type: 'string' },
    },
  },
});
export type TrustPolicyStatement = FromSchema<typeof trustPolicyStatementSchema>;

export const trustPolicySpecSchema = structural({
  type: 'object',
  description: 'A notation trust policy document, selected by spec.trustPolicyName in /checkimages requests.',
  required: ['version', 'trustPolicyName', 'trustPolicies'],
  properties: {
    version: { type: 'string', enum: ['1.0'], description: 'Trust policy document version; only "1.0".' },
    trustPolicyName: {
      type: 'string',
      minLength: 1,
      description: 'The name requests select this policy by (the trustPolicy request field or DEFAULT_TRUST_POLICY).',
    },
    trustPolicies: { type: 'array', minItems: 1, description: 'The statements.', items: trustPolicyStatementSchema },
  },
});
export type TrustPolicySpec = FromSchema<typeof trustPolicySpecSchema>;

export const trustPolicyStatusSchema = structural({
  type: 'object',
  description: 'Reconcile status written by the operator.',
  properties: {
    ...commonStatusProperties,
    policyVersion: { type: 'string', description: 'Version (sha256) of this policy in the bundle; part of every verification cache key.' },
    resolvedTrustStores: {
      type: 'array',
      description: 'The trust stores ("<type>:<name>") the policy references, as found in the bundle.',
      items: { type: 'string' },
    },
  },
});
export type TrustPolicyStatus = FromSchema<typeof trustPolicyStatusSchema>;

/** The openAPIV3Schema of the TrustPolicy CRD. */
export const trustPolicySchema = structural({
  type: 'object',
  description: 'TrustPolicy is a notation trust policy document used to verify images and attestations.',
  required: ['spec'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: trustPolicySpecSchema,
    status: trustPolicyStatusSchema,
  },
});

export interface TrustPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof TRUST_POLICY_KIND;
  metadata: ObjectMeta;
  spec: TrustPolicySpec;
  status?: TrustPolicyStatus | undefined;
}
