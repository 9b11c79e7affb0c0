// The JMESPath engine Kyverno conditions run on: @jmespath-community/jmespath's parser and tree
// interpreter, with two behaviours of Kyverno's go-jmespath fork added by overriding `visit`:
//
// UNKNOWN PATH RULE (docs/architecture.md "Attestations"). Reading a field:
//   • from a JSON object that has the key → its value, which may be null;
//   • from a JSON object that lacks the key → error `Unknown key "<key>" in path` (the fork's
//     NotFoundError), wherever the field sits: a plain path, a projection, a filter condition, a
//     function argument; the error is not swallowed by projections or filters;
//   • from null → null (a path that reached an existing null stops quietly, as the fork's
//     sub-expression does on nil: `a.b` with `{"a": null}` is null, not an error);
//   • from a string, number, boolean or array → null (standard JMESPath).
//   Exception — the operands of `||`: a missing key there counts as null, so the fallback idiom
//   `{{ a.b || '' }}` that Kyverno's docs and sample policies use keeps working (current Kyverno
//   evaluates `||` operands with missing keys as null for exactly this reason).
//   Keys are looked up as own properties only, so `constructor` or `__proto__` never resolve to
//   JavaScript internals.
//
// KYVERNO'S DIALECT. Kyverno's fork is standard JMESPath, so the community extensions this library
// also parses (let/$variables, the ternary `?:`, infix arithmetic, `$` root) and its extra built-in
// functions are rejected as invalid expressions rather than silently accepted.
import { TreeInterpreter, compile as parseJmesPath, type JSONValue } from '@jmespath-community/jmespath';
import { BoundedCache } from '../wildcard/boundedCache.js';
import { ERR_JMESPATH_EVALUATION, ERR_JMESPATH_INVALID, ERR_JMESPATH_UNKNOWN_KEY, FunctionError, UnknownKeyError } from './errors.js';

type Interpreter = typeof TreeInterpreter;
/** A parsed JMESPath expression (the library's AST). */
export type JmesPathAst = ReturnType<typeof parseJmesPath>;
type VisitInput = Parameters<Interpreter['visit']>[1];
type VisitResult = ReturnType<Interpreter['visit']>;

// The library exports only its default interpreter instance; its class is reached through it.
const TreeInterpreterClass = TreeInterpreter.constructor as new () => Interpreter;

/** JMESPath falsiness: null, false, empty string, empty array, empty object. */
function isFalse(value: VisitResult): boolean {
  if (value === null || value === false || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

class KyvernoInterpreter extends TreeInterpreterClass {
  override visit(node: JmesPathAst, value: VisitInput): VisitResult {
    if (node.type === 'Field') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
      const object = value as Record<string, JSONValue>;
      if (!Object.hasOwn(object, node.name)) throw new UnknownKeyError(node.name);
      return object[node.name] ?? null;
    }
    if (node.type === 'OrExpression') {
      const left = this.#operand(node.left, value);
      return isFalse(left) ? this.#operand(node.right, value) : left;
    }
    return super.visit(node, value);
  }

  #operand(node: JmesPathAst, value: VisitInput): VisitResult {
    try {
      return this.visit(node, value);
    } catch (error) {
      if (error instanceof UnknownKeyError) return null;
      throw error;
    }
  }
}

// One interpreter for the whole process: the library's function registry is per interpreter
// (its built-ins are bound to the runtime that created them), so the Kyverno function pack is
// registered on this instance once, when functions.ts loads. Evaluation is synchronous, so
// sharing it across requests carries no state from one evaluation to the next.
export const kyvernoInterpreter = new KyvernoInterpreter();

// Standard JMESPath built-ins (the spec's function list); the Kyverno pack adds its own names.
const STANDARD_FUNCTIONS = new Set([
  'abs',
  'avg',
  'ceil',
  'contains',
  'ends_with',
  'floor',
  'join',
  'keys',
  'length',
  'map',
  'max',
  'max_by',
  'merge',
  'min',
  'min_by',
  'not_null',
  'reverse',
  'sort',
  'sort_by',
  'starts_with',
  'sum',
  'to_array',
  'to_number',
  'to_string',
  'type',
  'values',
]);
const allowedFunctions = new Set(STANDARD_FUNCTIONS);

/** Adds a function name to the Kyverno dialect (called by the function pack as it registers). */
export function allowFunction(name: string): void {
  allowedFunctions.add(name);
}

const UNSUPPORTED_NODES = new Map<string, string>([
  ['LetExpression', 'let expressions'],
  ['Binding', 'let expressions'],
  ['Variable', '$variables'],
  ['Ternary', 'the ?: operator'],
  ['Arithmetic', 'arithmetic operators (use add(), subtract(), multiply(), divide(), modulo())'],
  ['Unary', 'arithmetic operators (use add(), subtract(), multiply(), divide(), modulo())'],
  ['Root', 'the $ root reference'],
]);

function checkDialect(node: unknown, expression: string): void {
  if (typeof node !== 'object' || node === null) return;
  if (Array.isArray(node)) {
    for (const child of node) checkDialect(child, expression);
    return;
  }
  const record = node as Record<string, unknown>;
  const type = record.type;
  if (type === 'Literal') return; // a literal's JSON value is data, not syntax
  if (typeof type === 'string') {
    const unsupported = UNSUPPORTED_NODES.get(type);
    if (unsupported !== undefined) throw new ERR_JMESPATH_INVALID(expression, `${unsupported} are not part of Kyverno's JMESPath`);
    if (type === 'Function') {
      const name = String(record.name);
      if (!allowedFunctions.has(name)) throw new ERR_JMESPATH_INVALID(expression, `unknown function: ${name}()`);
    }
  }
  for (const child of Object.values(record)) checkDialect(child, expression);
}

/** A compiled expression, checked against Kyverno's dialect. */
export interface CompiledJmesPath {
  readonly expression: string;
  readonly ast: JmesPathAst;
}

// Expressions come back on every request (they are written in the policy), so their ASTs are
// cached; the bound keeps distinct expressions from growing memory.
const compiled = new BoundedCache<string, CompiledJmesPath>(1024);

function compileUncached(expression: string): CompiledJmesPath {
  let ast: JmesPathAst;
  try {
    ast = parseJmesPath(expression);
  } catch (error) {
    throw new ERR_JMESPATH_INVALID(expression, (error as Error).message, { cause: error });
  }
  checkDialect(ast, expression);
  return { expression, ast };
}

/**
 * Parses and checks a JMESPath expression (cached). Throws ERR_JMESPATH_INVALID (bad request)
 * for syntax errors, unknown functions and non-Kyverno constructs.
 */
export function compileJmesPath(expression: string): CompiledJmesPath {
  return compiled.getOrCreate(expression, compileUncached);
}

/**
 * Evaluates an expression against `data` with Kyverno's functions and the unknown-path rule
 * above. Throws ERR_JMESPATH_INVALID for a bad expression, ERR_JMESPATH_UNKNOWN_KEY for a missing
 * key and ERR_JMESPATH_EVALUATION for any other failure on the data (both denials).
 */
export function searchJmesPath(expression: string, data: unknown): unknown {
  const { ast } = compileJmesPath(expression);
  try {
    return kyvernoInterpreter.search(ast, (data ?? null) as JSONValue);
  } catch (error) {
    if (error instanceof UnknownKeyError) throw new ERR_JMESPATH_UNKNOWN_KEY(expression, error.key, { cause: error });
    if (error instanceof FunctionError || error instanceof Error) {
      throw new ERR_JMESPATH_EVALUATION(expression, error.message, { cause: error });
    }
    throw new ERR_JMESPATH_EVALUATION(expression, String(error));
  }
}
