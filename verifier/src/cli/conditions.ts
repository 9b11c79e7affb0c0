// `verifier conditions --payload FILE --conditions FILE`: the offline conditions tester
// (docs/architecture.md "Attestations"). It evaluates attestation conditions against a payload with exactly the engine
// the verifier uses, so a platform engineer can check a policy before deploying it.
// Exit codes: 0 the conditions hold, 1 they do not, 2 the check itself failed (unreadable file,
// bad YAML/JSON, unknown operator, unknown path…) — mirroring a 200 / 406 / error answer.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { KnaError } from '@kna/shared/errors';
import { evaluateConditions, validateConditions } from '@kna/shared/conditions';

/** Where the command writes: process.stdout/stderr in the CLI, buffers in tests. */
export interface ConditionsCommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const USAGE = `Usage: verifier conditions --payload FILE --conditions FILE

Evaluates Kyverno any/all conditions against an attestation payload, offline, with the
verifier's own engine (Kyverno operators, {{ }} JMESPath variables and functions).

  --payload FILE      the attestation payload: a JSON object (the JMESPath root)
  --conditions FILE   YAML or JSON: one {any, all} block, a list of blocks, or an
                      attestation type entry {name, conditions}
  -h, --help          show this help

Exit status: 0 the conditions hold, 1 they do not, 2 the check could not be made.
`;

/** A problem with the command's inputs, reported with exit status 2. */
class UsageError extends Error {}

async function readText(what: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new UsageError(`cannot read the ${what} file ${path}: ${reason}`);
  }
}

function parsePayload(path: string, text: string): Record<string, unknown> {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the payload file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  // The verifier requires a JSON object too (docs/architecture.md "Attestations"): the payload's keys are
  // the root of every {{ }} variable.
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new UsageError(`the payload file ${path} must hold a JSON object, as attestation payloads do`);
  }
  return payload as Record<string, unknown>;
}

/** The conditions document, unchecked: validateConditions establishes its shape. */
function parseConditions(path: string, text: string): unknown {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents) || documents.length === 0) throw new UsageError(`the conditions file ${path} is empty`);
  if (documents.length !== 1) throw new UsageError(`the conditions file ${path} must hold one YAML/JSON document, not ${String(documents.length)}`);
  const [document] = documents;
  if (document === undefined) throw new UsageError(`the conditions file ${path} is empty`);
  const [firstError] = document.errors;
  if (firstError !== undefined) throw new UsageError(`the conditions file ${path} is not valid YAML/JSON: ${firstError.message}`);
  const parsed: unknown = document.toJS();
  if (parsed === null || parsed === undefined) throw new UsageError(`the conditions file ${path} is empty`);
  // An attestation `type` entry ({name, conditions}) or a wrapper {conditions}: use its conditions.
  if (typeof parsed === 'object' && !Array.isArray(parsed) && 'conditions' in parsed) return parsed.conditions;
  return parsed;
}

/**
 * Runs `verifier conditions` with the arguments after the sub-command name and returns the exit
 * status (0 pass, 1 fail, 2 error). Never throws.
 */
export async function runConditionsCommand(argv: string[], io: ConditionsCommandIO): Promise<number> {
  try {
    let values: { payload?: string | undefined; conditions?: string | undefined; help?: boolean | undefined };
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          payload: { type: 'string' },
          conditions: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (values.help === true) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (values.payload === undefined || values.conditions === undefined) {
      throw new UsageError('both --payload and --conditions are required');
    }
    const [payloadText, conditionsText] = await Promise.all([readText('payload', values.payload), readText('conditions', values.conditions)]);
    const payload = parsePayload(values.payload, payloadText);
    const conditions = parseConditions(values.conditions, conditionsText);
    validateConditions(conditions);
    const result = evaluateConditions(conditions, payload);
    if (result.passed) {
      // Kyverno shows a condition's message only when the condition fails; so does the verifier.
      io.stdout.write('PASS: the conditions hold\n');
      return 0;
    }
    io.stdout.write(`FAIL: the conditions do not hold\n${result.message === '' ? '' : `message: ${result.message}\n`}`);
    return 1;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`verifier conditions: ${error.message}\n\n${USAGE}`);
    } else if (error instanceof KnaError) {
      // Bad conditions (unknown operator, bad expression) and unresolvable variables (unknown
      // path…): the verifier would answer 400 or 406 with this message.
      io.stderr.write(`verifier conditions: error (${error.outcome}, ${error.code}): ${error.message}\n`);
    } else {
      io.stderr.write(`verifier conditions: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    return 2;
  }
}
