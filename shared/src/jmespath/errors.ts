// Error catalogue of the JMESPath layer. What the request wrote (syntax, unknown functions,
// constructs Kyverno's JMESPath does not have) is the request's fault; what an expression meets
// in the payload (a key the payload lacks, a value of the wrong type) is a denial of that payload.
import { Outcome, defineError } from '../errors.js';

/** The expression does not parse, names an unknown function or uses a construct Kyverno lacks. */
export const ERR_JMESPATH_INVALID = defineError(
  'KNA_ERR_JMESPATH_INVALID',
  Outcome.BadRequest,
  (expression: string, reason: string) => `invalid JMESPath expression ${JSON.stringify(expression)}: ${reason}`,
);

/**
 * A field the expression reads does not exist in the object it reads it from. Kyverno's
 * go-jmespath fork reports this as `Unknown key "<key>" in path` and fails the rule; a key that
 * exists with a null value is not an error.
 */
export const ERR_JMESPATH_UNKNOWN_KEY = defineError(
  'KNA_ERR_JMESPATH_UNKNOWN_KEY',
  Outcome.Denied,
  (expression: string, key: string) => `JMESPath query ${JSON.stringify(expression)} failed: Unknown key ${JSON.stringify(key)} in path`,
);

/** Evaluation failed on the data: a function got the wrong type, a time did not parse, and so on. */
export const ERR_JMESPATH_EVALUATION = defineError(
  'KNA_ERR_JMESPATH_EVALUATION',
  Outcome.Denied,
  (expression: string, reason: string) => `JMESPath query ${JSON.stringify(expression)} failed: ${reason}`,
);

/** Thrown inside the interpreter for a missing key; turned into ERR_JMESPATH_UNKNOWN_KEY by search(). */
export class UnknownKeyError extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`Unknown key ${JSON.stringify(key)} in path`);
    this.key = key;
  }
}

/** Thrown by a Kyverno function for a bad argument or result; becomes ERR_JMESPATH_EVALUATION. */
export class FunctionError extends Error {
  constructor(name: string, reason: string) {
    super(`JMESPath function '${name}': ${reason}`);
  }
}
