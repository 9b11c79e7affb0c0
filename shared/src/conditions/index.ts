export { evaluateConditions, validateConditions } from './evaluate.js';
export { operatorHandler, type OperatorHandler } from './operators.js';
export { substituteVariables, type VariableResolver } from './substitute.js';
export {
  ConditionOperator,
  anyAllConditionsSchema,
  kyvernoConditionSchema,
  conditionsSchema,
  type AnyAllConditions,
  type KyvernoCondition,
  type ConditionsInput,
  type ConditionsResult,
} from './types.js';
export { ERR_CONDITIONS_MALFORMED, ERR_CONDITION_INVALID_VARIABLE, ERR_CONDITION_UNKNOWN_OPERATOR, ERR_CONDITION_UNRESOLVED_VARIABLE } from './errors.js';
