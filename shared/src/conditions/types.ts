// The request shape of Kyverno conditions (api/kyverno/v1 Condition and AnyAllConditions), as
// TypeScript types and as an ajv-compatible JSON schema that the verifier's request schema reuses.

/** One Kyverno condition (named apart from metav1.Condition in crd/): `key` and `value` are any JSON and may hold `{{ }}` variables. */
export interface KyvernoCondition {
  key: unknown;
  operator: string;
  value?: unknown;
  message?: string;
}

/**
 * A block of conditions: `any` passes when one condition passes (an empty `any` never passes),
 * `all` when every one does; an absent list does not constrain. The block is `any` AND `all`.
 */
export interface AnyAllConditions {
  any?: KyvernoCondition[] | null;
  all?: KyvernoCondition[] | null;
}

/** What a request may carry: one block (the original's shape) or a list of blocks, ANDed. */
export type ConditionsInput = AnyAllConditions | readonly AnyAllConditions[];

/** Outcome of evaluating conditions: whether they hold, and Kyverno's joined messages. */
export interface ConditionsResult {
  passed: boolean;
  message: string;
}

/**
 * Operator names as Kyverno declares them (api/kyverno/v1 ConditionOperators); matching is
 * case-insensitive. `In`/`NotIn` and the `Duration*` family are deprecated upstream but still
 * evaluated.
 */
export const ConditionOperator = {
  Equal: 'Equal',
  Equals: 'Equals',
  NotEqual: 'NotEqual',
  NotEquals: 'NotEquals',
  In: 'In',
  AnyIn: 'AnyIn',
  AllIn: 'AllIn',
  NotIn: 'NotIn',
  AnyNotIn: 'AnyNotIn',
  AllNotIn: 'AllNotIn',
  GreaterThanOrEquals: 'GreaterThanOrEquals',
  GreaterThan: 'GreaterThan',
  LessThanOrEquals: 'LessThanOrEquals',
  LessThan: 'LessThan',
  DurationGreaterThanOrEquals: 'DurationGreaterThanOrEquals',
  DurationGreaterThan: 'DurationGreaterThan',
  DurationLessThanOrEquals: 'DurationLessThanOrEquals',
  DurationLessThan: 'DurationLessThan',
} as const;
export type ConditionOperator = (typeof ConditionOperator)[keyof typeof ConditionOperator];

// A case-insensitive alternation of the operator names, for the schema's `pattern` (JSON Schema
// patterns take no flags, so each letter becomes a two-case class).
const caseInsensitive = (name: string): string =>
  Array.from(name)
    .map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`)
    .join('');
const OPERATOR_PATTERN = `^(?:${Object.values(ConditionOperator).map(caseInsensitive).join('|')})$`;

/** JSON schema of one condition. Unknown properties are tolerated, as in the original. */
export const kyvernoConditionSchema = {
  type: 'object',
  required: ['key', 'operator'],
  properties: {
    key: {},
    operator: { type: 'string', maxLength: 64, pattern: OPERATOR_PATTERN },
    value: {},
    message: { type: 'string', maxLength: 4096 },
  },
} as const;

/** JSON schema of an `{any, all}` block. */
export const anyAllConditionsSchema = {
  type: 'object',
  properties: {
    any: { type: 'array', maxItems: 256, items: kyvernoConditionSchema },
    all: { type: 'array', maxItems: 256, items: kyvernoConditionSchema },
  },
} as const;

/** JSON schema of a request's `conditions`: one block or a list of blocks. */
export const conditionsSchema = {
  anyOf: [anyAllConditionsSchema, { type: 'array', maxItems: 64, items: anyAllConditionsSchema }],
} as const;
