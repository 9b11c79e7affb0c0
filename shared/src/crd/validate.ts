// Schema validation of TrustPolicy / TrustStore objects with the CRD's own schemas, for objects that did not go
// through the API server (local mode manifests, docs/architecture.md "The two deployments") and as a defence in renderBundle (an older CRD of
// the original may be installed). Messages name the JSON path and the accepted values.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { StructuralSchema } from './schema.js';
import { childPath, Reason, type Problem } from './problem.js';
import { trustPolicySpecSchema } from './trust-policy.js';
import { trustStoreSpecSchema } from './trust-store.js';

function createAjv(): Ajv {
  // allErrors: report every problem of a configuration object at once (these are not request bodies).
  const ajv = new Ajv({ allErrors: true, strict: true });
  ajv.addVocabulary(['x-kubernetes-list-type', 'x-kubernetes-list-map-keys']);
  // RFC 3339 date-time, the format Kubernetes uses for metav1.Time.
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/);
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  return ajv;
}

/**
 * A copy of `schema` that also refuses unknown fields, like `kubectl apply`'s default strict field validation
 * does (the API server would otherwise prune them silently). Maps (additionalProperties) are left open.
 */
export function strictSchema(schema: StructuralSchema): StructuralSchema {
  const copy: Record<string, unknown> = { ...schema };
  if (schema.properties) {
    copy.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, strictSchema(v)]));
    if (schema.additionalProperties === undefined) copy.additionalProperties = false;
  }
  if (schema.items) copy.items = strictSchema(schema.items);
  if (schema.additionalProperties) copy.additionalProperties = strictSchema(schema.additionalProperties);
  return copy as unknown as StructuralSchema;
}

function pointerToPath(base: string, pointer: string): string {
  let path = base;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = childPath(path, /^(0|[1-9]\d*)$/.test(token) ? Number(token) : token);
  }
  return path;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`;
}

function errorProblem(base: string, error: ErrorObject, root: unknown): Problem {
  let path = pointerToPath(base, error.instancePath);
  const value = error.instancePath
    .split('/')
    .slice(1)
    .reduce<unknown>((node, raw) => {
      const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      return typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[token] : undefined;
    }, root);
  let message: string;
  switch (error.keyword) {
    case 'required':
      path = childPath(path, String(error.params.missingProperty));
      message = 'is required';
      break;
    case 'additionalProperties':
      path = childPath(path, String(error.params.additionalProperty));
      message = 'unknown field (check the spelling; the API server would drop it)';
      break;
    case 'enum': {
      const allowed = (error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      message = `must be one of ${allowed}, got ${describeValue(value)}`;
      if (typeof value === 'number') message += ' (quote it in YAML so that it is a string)';
      break;
    }
    case 'type':
      message = `must be ${error.params.type === 'array' || error.params.type === 'object' ? 'an' : 'a'} ${String(error.params.type)}, got ${describeValue(value)}`;
      break;
    case 'minLength':
      message = 'must not be empty';
      break;
    case 'minItems':
      message = `must list at least ${String(error.params.limit)} item(s)`;
      break;
    default:
      message = error.message ?? `fails ${error.keyword}`;
  }
  return { path, message, reason: Reason.InvalidSpec };
}

/** Turns ajv errors into problems; for one path an enum message wins over the type message it implies. */
export function schemaProblems(base: string, errors: readonly ErrorObject[] | null | undefined, root: unknown): Problem[] {
  const problems = (errors ?? []).map((e) => ({ keyword: e.keyword, problem: errorProblem(base, e, root) }));
  const enumPaths = new Set(problems.filter((p) => p.keyword === 'enum').map((p) => p.problem.path));
  return problems.filter((p) => !(p.keyword === 'type' && enumPaths.has(p.problem.path))).map((p) => p.problem);
}

export interface SchemaValidator {
  /** The problems of `value` (empty when valid), with paths under `base`. */
  (value: unknown, base?: string): Problem[];
}

/** Compiles a validator for one schema (compile once, use many times). */
export function compileValidator(schema: StructuralSchema, options: { strict: boolean }): SchemaValidator {
  const validate: ValidateFunction = createAjv().compile(options.strict ? strictSchema(schema) : schema);
  return (value, base = '') => (validate(value) ? [] : schemaProblems(base, validate.errors, value));
}

let specValidators:
  { trustPolicy: SchemaValidator; trustStore: SchemaValidator; strictTrustPolicy: SchemaValidator; strictTrustStore: SchemaValidator } | undefined;
function validators(): NonNullable<typeof specValidators> {
  specValidators ??= {
    trustPolicy: compileValidator(trustPolicySpecSchema, { strict: false }),
    trustStore: compileValidator(trustStoreSpecSchema, { strict: false }),
    strictTrustPolicy: compileValidator(trustPolicySpecSchema, { strict: true }),
    strictTrustStore: compileValidator(trustStoreSpecSchema, { strict: true }),
  };
  return specValidators;
}

/**
 * Checks a TrustPolicy `spec` against the CRD schema. `unknownFields: 'reject'` also refuses fields the schema
 * does not define (local-mode manifests, like kubectl's strict validation); the default ignores them, as the API
 * server prunes them.
 */
export function validateTrustPolicySpec(spec: unknown, options: { path?: string; unknownFields?: 'ignore' | 'reject' } = {}): Problem[] {
  const v = validators();
  return (options.unknownFields === 'reject' ? v.strictTrustPolicy : v.trustPolicy)(spec, options.path ?? 'spec');
}

/** Checks a TrustStore `spec` against the CRD schema (options as validateTrustPolicySpec). */
export function validateTrustStoreSpec(spec: unknown, options: { path?: string; unknownFields?: 'ignore' | 'reject' } = {}): Problem[] {
  const v = validators();
  return (options.unknownFields === 'reject' ? v.strictTrustStore : v.trustStore)(spec, options.path ?? 'spec');
}
