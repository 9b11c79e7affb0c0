// Assertions shared by the registry client's tests.
import assert from 'node:assert/strict';

export type CodedError = Error & { code: string; outcome: string };

/** Asserts the promise rejects with the coded error class, and returns the error for further checks. */
export async function rejectsWith(promise: Promise<unknown>, errorClass: { code: string; outcome: string }): Promise<CodedError> {
  const err = await promise.then(
    () => assert.fail(`expected ${errorClass.code}`),
    (e: unknown) => e as CodedError,
  );
  assert.equal(err.code, errorClass.code, err.message);
  assert.equal(err.outcome, errorClass.outcome);
  return err;
}
