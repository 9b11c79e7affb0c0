// What both custom resources share: API group and version (docs/architecture.md "Custom resources", unchanged for drop-in
// compatibility), object metadata as the operator sees it, and the status conditions (docs/architecture.md "Custom resources").
import { structural, type FromSchema } from './schema.js';

export const GROUP = 'notation.nirmata.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

/** The metadata fields this product reads. Timestamps may arrive as strings (raw JSON) or Dates (client-node). */
export interface ObjectMeta {
  name: string;
  uid?: string | undefined;
  generation?: number | undefined;
  resourceVersion?: string | undefined;
  creationTimestamp?: string | Date | undefined;
  labels?: Record<string, string> | undefined;
  annotations?: Record<string, string> | undefined;
}

/** metav1.Condition, as Kubernetes API conventions define it (same validation as apimachinery's type). */
export const conditionSchema = structural({
  type: 'object',
  description: 'A condition of the object (metav1.Condition).',
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  properties: {
    type: { type: 'string', description: 'Condition type; this product sets "Ready".', minLength: 1, maxLength: 316 },
    status: { type: 'string', description: 'True, False or Unknown.', enum: ['True', 'False', 'Unknown'] },
    reason: {
      type: 'string',
      description: 'A CamelCase reason for the last transition (e.g. UnknownTrustStore).',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    },
    message: { type: 'string', description: 'What is wrong and how to fix it, or where the object is used.', maxLength: 32768 },
    lastTransitionTime: { type: 'string', format: 'date-time', description: 'When the status last changed.' },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0, description: 'metadata.generation the condition was computed from.' },
  },
});
export type Condition = FromSchema<typeof conditionSchema>;

/** Status fields common to both resources. */
export const commonStatusProperties = {
  conditions: {
    type: 'array',
    description: 'Current state; the Ready condition says whether the object is in the served bundle and, if not, why.',
    items: conditionSchema,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  },
  observedGeneration: { type: 'integer', format: 'int64', minimum: 0, description: 'metadata.generation the operator last reconciled.' },
  bundleVersion: {
    type: 'string',
    description: 'Version (sha256) of the first bundle that holds this object as it is now; a bundle that changes only other objects does not rewrite it.',
  },
  bundleVersionShort: { type: 'string', description: 'The first 12 characters of bundleVersion (printer column).' },
} as const;

/** Condition type set by the operator on both resources. */
export const READY_CONDITION = 'Ready';
