// TrustStore: PEM certificates notation trusts, as a cluster-scoped custom resource. Spec fields exactly as the
// original CRD (docs/architecture.md "Custom resources"), `type` extended with `tsa` (timestamping authorities), plus a status
// subresource with the certificate count and earliest expiry for the printer columns (docs/architecture.md "Custom resources").
import { API_VERSION, commonStatusProperties, type ObjectMeta } from './common.js';
import { structural, type FromSchema } from './schema.js';

export const TRUST_STORE_KIND = 'TrustStore';
export const TRUST_STORE_PLURAL = 'truststores';

/** notation trust store types (notation's specification). AWS Signer roots go in signingAuthority. */
export const TRUST_STORE_TYPES = ['ca', 'signingAuthority', 'tsa'] as const;
export type TrustStoreType = (typeof TRUST_STORE_TYPES)[number];

export const trustStoreSpecSchema = structural({
  type: 'object',
  description: 'A named notation trust store.',
  required: ['trustStoreName', 'type', 'caBundle'],
  properties: {
    trustStoreName: {
      type: 'string',
      minLength: 1,
      description: 'Store name; trust policies reference it as "<type>:<trustStoreName>". Letters, digits, "_", "." and "-".',
    },
    type: { type: 'string', enum: TRUST_STORE_TYPES, description: 'ca | signingAuthority | tsa.' },
    caBundle: {
      type: 'string',
      minLength: 1,
      description: 'PEM certificates, each a CA or self-signed (e.g. the AWS Signer root for signingAuthority).',
    },
  },
});
export type TrustStoreSpec = FromSchema<typeof trustStoreSpecSchema>;

export const trustStoreStatusSchema = structural({
  type: 'object',
  description: 'Reconcile status written by the operator.',
  properties: {
    ...commonStatusProperties,
    certificateCount: { type: 'integer', minimum: 0, description: 'Distinct certificates in caBundle.' },
    earliestExpiry: { type: 'string', format: 'date-time', description: 'When the first certificate of caBundle expires.' },
  },
});
export type TrustStoreStatus = FromSchema<typeof trustStoreStatusSchema>;

/** The openAPIV3Schema of the TrustStore CRD. */
export const trustStoreSchema = structural({
  type: 'object',
  description: 'TrustStore holds the certificates notation trusts when it verifies signatures.',
  required: ['spec'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: trustStoreSpecSchema,
    status: trustStoreStatusSchema,
  },
});

export interface TrustStore {
  apiVersion: typeof API_VERSION;
  kind: typeof TRUST_STORE_KIND;
  metadata: ObjectMeta;
  spec: TrustStoreSpec;
  status?: TrustStoreStatus | undefined;
}
