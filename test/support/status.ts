/** Assertions on how a call ends: the StatusError it fails with, or its status code. */
import assert from 'node:assert/strict';
import { Status, StatusError } from '../../src/contract/index.ts';

/** The status code `promise` settles with: OK when it resolves, the StatusError's code when not. */
export async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return Status.OK;
  } catch (err) {
    assert.ok(err instanceof StatusError, String(err));
    return err.code;
  }
}

/** The StatusError `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<StatusError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

/**
 * The StatusError `promise` rejects with, checked to carry `code` (and, if given, a message
 * matching `message`); fails the test if the call succeeds.
 */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: Status,
  message?: RegExp,
): Promise<StatusError> {
  const expected = new StatusError(code, '').codeName;
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    assert.equal(err.codeName, expected, `wrong status: ${err.message}`);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected status ${expected}, the call succeeded`);
}
