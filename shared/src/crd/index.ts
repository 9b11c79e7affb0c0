export { API_VERSION, GROUP, READY_CONDITION, VERSION, conditionSchema, type Condition, type ObjectMeta } from './common.js';
export { CHART_CRD_DIR, crdFiles, customResourceDefinitions, type CustomResourceDefinition, type PrinterColumn } from './definitions.js';
export { Reason, childPath, formatProblems, type Problem } from './problem.js';
export { structural, type FromSchema, type StructuralSchema } from './schema.js';
export {
  TRUST_POLICY_KIND,
  TRUST_POLICY_PLURAL,
  VALIDATION_ACTIONS,
  VALIDATION_TYPES,
  VERIFICATION_LEVELS,
  VERIFY_TIMESTAMP_OPTIONS,
  trustPolicySchema,
  trustPolicySpecSchema,
  trustPolicyStatementSchema,
  trustPolicyStatusSchema,
  type TrustPolicy,
  type TrustPolicySpec,
  type TrustPolicyStatement,
  type TrustPolicyStatus,
  type ValidationAction,
  type ValidationType,
  type VerificationLevel,
  type VerifyTimestampOption,
} from './trust-policy.js';
export {
  TRUST_STORE_KIND,
  TRUST_STORE_PLURAL,
  TRUST_STORE_TYPES,
  trustStoreSchema,
  trustStoreSpecSchema,
  trustStoreStatusSchema,
  type TrustStore,
  type TrustStoreSpec,
  type TrustStoreStatus,
  type TrustStoreType,
} from './trust-store.js';
export { compileValidator, strictSchema, validateTrustPolicySpec, validateTrustStoreSpec, type SchemaValidator } from './validate.js';
