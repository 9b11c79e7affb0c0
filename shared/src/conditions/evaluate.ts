// Evaluation of Kyverno `any`/`all` condition blocks against a JSON root (for attestations, the
// payload object), following pkg/engine/variables/evaluate.go:
//   • a block passes when its `any` list (if present — an empty list never passes) has a passing
//     condition, stopping at the first, AND every condition of `all` passes, stopping at the first
//     failure;
//   • a block's message is the `message`s of its failed conditions joined with "; " when it fails,
//     of its passed conditions when it passes;
//   • a list of blocks is ANDed: the first failing block decides and gives its message; when all
//     pass, their messages are joined with ";".
// Before anything runs, the whole request is checked — shape, operator names, and every `{{ }}`
// expression written in it — so a malformed request is always a bad request, whichever
// condition would have been reached first. Each call builds its own state: nothing is shared
// between evaluations (the original shared one JMESPath context across requests).
import { KnaError } from '../errors.js';
import { compileJmesPath, searchJmesPath } from '../jmespath/index.js';
import { ERR_JMESPATH_INVALID } from '../jmespath/errors.js';
import { ERR_CONDITIONS_MALFORMED, ERR_CONDITION_INVALID_VARIABLE, ERR_CONDITION_UNKNOWN_OPERATOR, ERR_CONDITION_UNRESOLVED_VARIABLE } from './errors.js';
import { operatorHandler, type OperatorHandler } from './operators.js';
import { SubstitutionLoopError, findVariables, substituteVariables, variableExpression } from './substitute.js';
import type { AnyAllConditions, KyvernoCondition, ConditionsInput, ConditionsResult } from './types.js';

interface CheckedCondition {
  readonly path: string;
  readonly key: unknown;
  readonly value: unknown;
  readonly message: string;
  readonly handler: OperatorHandler;
}

interface CheckedBlock {
  readonly any: readonly CheckedCondition[] | undefined;
  readonly all: readonly CheckedCondition[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Compiles every variable written directly in a key or value, so syntax errors are the request's. */
function checkVariables(document: unknown, path: string): void {
  if (typeof document === 'string') {
    for (const { variable } of findVariables(document)) {
      try {
        compileJmesPath(variableExpression(variable));
      } catch (error) {
        if (error instanceof ERR_JMESPATH_INVALID) {
          throw new ERR_CONDITION_INVALID_VARIABLE(path, variable, error.message, { cause: error });
        }
        throw error;
      }
    }
  } else if (Array.isArray(document)) {
    document.forEach((item, i) => {
      checkVariables(item, `${path}[${String(i)}]`);
    });
  } else if (isObject(document)) {
    for (const [key, item] of Object.entries(document)) {
      checkVariables(key, path);
      checkVariables(item, `${path}.${key}`);
    }
  }
}

function checkCondition(raw: unknown, path: string): CheckedCondition {
  if (!isObject(raw)) throw new ERR_CONDITIONS_MALFORMED(path, 'a condition must be an object with key, operator and value');
  const { key, operator, value, message } = raw as Partial<Record<keyof KyvernoCondition, unknown>>;
  if (!Object.hasOwn(raw, 'key')) throw new ERR_CONDITIONS_MALFORMED(path, 'the condition has no key');
  if (typeof operator !== 'string') throw new ERR_CONDITIONS_MALFORMED(`${path}.operator`, 'the operator must be a string');
  if (message !== undefined && message !== null && typeof message !== 'string') {
    throw new ERR_CONDITIONS_MALFORMED(`${path}.message`, 'the message must be a string');
  }
  const handler = operatorHandler(operator);
  if (handler === undefined) throw new ERR_CONDITION_UNKNOWN_OPERATOR(`${path}.operator`, operator);
  checkVariables(key, `${path}.key`);
  checkVariables(value, `${path}.value`);
  return { path, key, value: value ?? null, message: typeof message === 'string' ? message : '', handler };
}

function checkList(raw: unknown, path: string): CheckedCondition[] | undefined {
  // Go decodes a JSON null list as nil, which counts as an absent list.
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw new ERR_CONDITIONS_MALFORMED(path, 'must be a list of conditions');
  return raw.map((condition, i) => checkCondition(condition, `${path}[${String(i)}]`));
}

function checkBlock(raw: unknown, path: string): CheckedBlock {
  if (!isObject(raw)) throw new ERR_CONDITIONS_MALFORMED(path, 'a condition block must be an object with `any` and/or `all`');
  const block = raw as AnyAllConditions;
  return { any: checkList(block.any, `${path}.any`), all: checkList(block.all, `${path}.all`) ?? [] };
}

/**
 * Validates conditions without evaluating them: shape, operators and the JMESPath written in
 * `{{ }}`. Throws the same bad-request errors {@link evaluateConditions} would.
 */
export function validateConditions(conditions: unknown, path = 'conditions'): asserts conditions is ConditionsInput {
  checkAll(conditions, path);
}

function checkAll(conditions: unknown, path: string): { blocks: CheckedBlock[]; list: boolean } {
  if (Array.isArray(conditions)) {
    return { blocks: conditions.map((block, i) => checkBlock(block, `${path}[${String(i)}]`)), list: true };
  }
  return { blocks: [checkBlock(conditions, path)], list: false };
}

function substitute(document: unknown, root: unknown, path: string): unknown {
  try {
    return substituteVariables(document, (expression, variable, pass) => {
      try {
        return searchJmesPath(expression, root);
      } catch (error) {
        // An expression that only exists after an inner variable was replaced came from the
        // payload: its syntax errors are the payload's, hence a denial.
        if (error instanceof ERR_JMESPATH_INVALID && pass === 0) {
          throw new ERR_CONDITION_INVALID_VARIABLE(path, variable, error.message, { cause: error });
        }
        if (error instanceof KnaError) {
          throw new ERR_CONDITION_UNRESOLVED_VARIABLE(path, variable, error.message, { cause: error });
        }
        throw error;
      }
    });
  } catch (error) {
    if (error instanceof SubstitutionLoopError) {
      throw new ERR_CONDITION_UNRESOLVED_VARIABLE(path, JSON.stringify(document), error.message, { cause: error });
    }
    throw error;
  }
}

function evaluateCondition(condition: CheckedCondition, root: unknown): boolean {
  const key = substitute(condition.key, root, `${condition.path}.key`);
  const value = substitute(condition.value, root, `${condition.path}.value`);
  return condition.handler(key, value);
}

const joinNonEmpty = (messages: readonly string[], separator: string): string => messages.filter((m) => m !== '').join(separator);

function evaluateBlock(block: CheckedBlock, root: unknown): ConditionsResult {
  const passedMessages: string[] = [];
  const failedMessages: string[] = [];
  let anyPassed = true;
  if (block.any !== undefined) {
    anyPassed = false;
    for (const condition of block.any) {
      if (evaluateCondition(condition, root)) {
        anyPassed = true;
        passedMessages.push(condition.message);
        break;
      }
      failedMessages.push(condition.message);
    }
  }
  let allPassed = true;
  for (const condition of block.all) {
    if (!evaluateCondition(condition, root)) {
      allPassed = false;
      failedMessages.push(condition.message);
      break;
    }
    passedMessages.push(condition.message);
  }
  const passed = anyPassed && allPassed;
  return { passed, message: joinNonEmpty(passed ? passedMessages : failedMessages, '; ') };
}

/**
 * Evaluates Kyverno conditions — one `{any, all}` block or a list of blocks — with `root` as the
 * JMESPath root of every `{{ }}` variable.
 *
 * Throws a KnaError: bad request (ERR_CONDITIONS_MALFORMED, ERR_CONDITION_UNKNOWN_OPERATOR,
 * ERR_CONDITION_INVALID_VARIABLE) when the conditions themselves are wrong, denied
 * (ERR_CONDITION_UNRESOLVED_VARIABLE) when a variable cannot be resolved on this root — notably
 * a path whose key the payload lacks.
 */
export function evaluateConditions(conditions: ConditionsInput, root: unknown): ConditionsResult {
  const { blocks, list } = checkAll(conditions, 'conditions');
  if (!list) return evaluateBlock(blocks[0] ?? { any: undefined, all: [] }, root);
  const passedMessages: string[] = [];
  for (const block of blocks) {
    const result = evaluateBlock(block, root);
    if (!result.passed) return result;
    passedMessages.push(result.message);
  }
  return { passed: true, message: joinNonEmpty(passedMessages, ';') };
}
