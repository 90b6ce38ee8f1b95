/** Waiting in tests: for some time, or for a condition. */
import assert from 'node:assert/strict';

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` every 10 ms; fails the test if it is not true within `ms`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > until) assert.fail('condition not reached in time');
    await sleep(10);
  }
}
