// Error catalogue of the conditions engine. Everything written in the request — the shape of the
// conditions, operator names, the JMESPath inside `{{ }}` — is checked before any condition runs
// and is a bad request; what happens on the payload (a missing key, a type error in a function)
// is a denial that names the condition and the variable.
import { Outcome, defineError } from '../errors.js';
import { ConditionOperator } from './types.js';

/** The conditions are not a block or list of blocks of {key, operator, value, message}. */
export const ERR_CONDITIONS_MALFORMED = defineError('KNA_ERR_CONDITIONS_MALFORMED', Outcome.BadRequest, (path: string, reason: string) => `${path}: ${reason}`);

/** Kyverno's "failed to create handler for condition operator". */
export const ERR_CONDITION_UNKNOWN_OPERATOR = defineError(
  'KNA_ERR_CONDITION_UNKNOWN_OPERATOR',
  Outcome.BadRequest,
  (path: string, operator: string) =>
    `${path}: unknown condition operator ${JSON.stringify(operator)}; use one of ${Object.values(ConditionOperator).join(', ')} (any case)`,
);

/** A `{{ }}` expression written in the request does not parse or uses a function Kyverno lacks. */
export const ERR_CONDITION_INVALID_VARIABLE = defineError(
  'KNA_ERR_CONDITION_INVALID_VARIABLE',
  Outcome.BadRequest,
  (path: string, variable: string, reason: string) => `${path}: invalid variable ${variable}: ${reason}`,
);

/** A variable could not be resolved against the payload (unknown key, function error…). */
export const ERR_CONDITION_UNRESOLVED_VARIABLE = defineError(
  'KNA_ERR_CONDITION_UNRESOLVED_VARIABLE',
  Outcome.Denied,
  (path: string, variable: string, reason: string) => `${path}: failed to resolve ${variable}: ${reason}`,
);
