import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type DeadlineEntry, DeadlineList } from './deadline-list.ts';

function entry(name: string, deadline: number, expired: string[]): DeadlineEntry {
  return {
    deadline,
    previousByDeadline: undefined,
    nextByDeadline: undefined,
    listed: false,
    expire: () => expired.push(name),
  };
}

it('expires entries in deadline order, whatever the order they were added in, and never removed ones', async () => {
  const list = new DeadlineList();
  const expired: string[] = [];
  const now = Date.now();
  const late = entry('late', now + 120, expired);
  const early = entry('early', now + 30, expired);
  const middle = entry('middle', now + 60, expired);
  const removed = entry('removed', now + 40, expired);
  const far = entry('far', now + 60_000, expired);
  for (const e of [late, early, middle, removed, far]) list.add(e);
  list.remove(removed);
  assert.equal(removed.listed, false);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(expired, ['early', 'middle', 'late']);
  assert.equal(far.listed, true);
  list.remove(far);
  assert.equal(far.listed, false);
});

it('does not fire before the deadline', async () => {
  const list = new DeadlineList();
  const expired: string[] = [];
  const started = Date.now();
  let firedAt = 0;
  const e = entry('one', started + 80, expired);
  e.expire = () => {
    firedAt = Date.now();
  };
  list.add(e);
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.ok(firedAt >= started + 80, `fired ${firedAt - started} ms after start`);
});
