import * as util from "node:util";
import { expect } from "chai";
import { SecretBoxError } from "../../runtime/secrets/errors";

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(Error);
    return error as Error;
  }
  return expect.fail(`expected a rejection, got ${typeof outcome}`);
}

/** The SecretBoxError a promise rejects with. */
export async function boxRejection(promise: Promise<unknown>): Promise<SecretBoxError> {
  const error = await rejection(promise);
  expect(error).to.be.instanceOf(SecretBoxError);
  return error as SecretBoxError;
}

/**
 * Asserts that no rendering of `error` (message, stack, inspection, JSON) holds any of
 * `secrets`, whole or as a 12-character run from their middle (a base64 body without
 * its prefix, say).
 */
export function expectNoSecrets(error: Error, ...secrets: string[]): void {
  const rendered = [error.message, error.stack ?? "", util.inspect(error), JSON.stringify(error)];
  for (const secret of secrets) {
    const middle = secret.slice(
      Math.floor(secret.length / 2) - 6,
      Math.floor(secret.length / 2) + 6,
    );
    for (const text of rendered) {
      expect(text).not.to.include(secret);
      if (middle.length === 12) expect(text).not.to.include(middle);
    }
  }
}
