// The /checkimages request (docs/architecture.md "The HTTP contract"). Unknown keys are accepted and
// ignored at every level Kyverno controls (it adds fields between versions); the fields the verifier
// reads are typed strictly so a wrong type is a 400 naming its JSON path. Bounds keep validation and
// everything after it cheap whatever the body holds.
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

const imageInfo = {
  type: 'object',
  // Kyverno always sends registry (possibly "") and path; a missing registry is read as "".
  required: ['path'],
  properties: {
    registry: { type: 'string', maxLength: 255 },
    path: { type: 'string', maxLength: 512 },
    name: { type: 'string', maxLength: 255 },
    tag: { type: 'string', maxLength: 128 },
    digest: { type: 'string', maxLength: 200 },
    jsonPointer: { type: 'string', maxLength: 1024 },
    reference: { type: 'string', maxLength: 1024 },
    referenceWithTag: { type: 'string', maxLength: 1024 },
  },
} as const satisfies JSONSchema;

const containerMap = {
  type: 'object',
  maxProperties: 256,
  propertyNames: { maxLength: 253 },
  additionalProperties: imageInfo,
} as const satisfies JSONSchema;

/** Kyverno conditions are arbitrary JSON in key/value; the body parser already bounds depth and size. */
const condition = {
  type: 'object',
  required: ['key', 'operator', 'value'],
  properties: {
    key: {},
    operator: { type: 'string', maxLength: 64 },
    value: {},
    message: { type: 'string', maxLength: 4096 },
  },
} as const satisfies JSONSchema;

const anyAll = {
  type: 'object',
  properties: {
    any: { type: 'array', maxItems: 256, items: condition },
    all: { type: 'array', maxItems: 256, items: condition },
  },
} as const satisfies JSONSchema;

const attestation = {
  type: 'object',
  required: ['imageReference', 'type'],
  properties: {
    imageReference: { type: 'string', minLength: 1, maxLength: 1024 },
    type: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 255 },
          // A single block (the original's shape) or a list of blocks (Kyverno's attestation shape).
          conditions: { anyOf: [anyAll, { type: 'array', maxItems: 64, items: anyAll }] },
        },
      },
    },
  },
} as const satisfies JSONSchema;

export const checkImagesRequestSchema = {
  type: 'object',
  required: ['images'],
  properties: {
    images: {
      type: 'object',
      properties: {
        containers: containerMap,
        initContainers: containerMap,
        ephemeralContainers: containerMap,
      },
    },
    imageReferences: { type: 'array', maxItems: 256, items: { type: 'string', maxLength: 1024 } },
    trustPolicy: { type: 'string', maxLength: 253 },
    attestations: { type: 'array', maxItems: 64, items: attestation },
    // Accepted for compatibility with the verify-images annotation protocol, never trusted (docs/architecture.md "The HTTP contract").
    metadata: {},
    mode: { type: 'string', enum: ['enforce', 'audit'] },
    onInfraError: { type: 'string', enum: ['deny', 'allow'] },
  },
} as const satisfies JSONSchema;

// The request's types are derived from the schema above, so what the handler receives is what was validated.
/** One image of a pod as Kyverno describes it. */
export type KyvernoImageInfo = FromSchema<typeof imageInfo>;
/** A Kyverno condition: arbitrary JSON in key and value. */
export type ConditionSpec = FromSchema<typeof condition>;
export type AnyAllSpec = FromSchema<typeof anyAll>;
export type AttestationSpec = FromSchema<typeof attestation>;
/** The body of POST /checkimages, as validated by checkImagesRequestSchema. */
export type CheckImagesRequest = FromSchema<typeof checkImagesRequestSchema>;
