import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sleep } from '../../test/support/wait.ts';
import { RetryTimer } from './retry-timer.ts';

it('waits longer with each failure in a row, up to the cap, and from the start after a success', () => {
  const timer = new RetryTimer({ baseMs: 100, maxMs: 400 });
  const caps = [100, 200, 400, 400];
  for (const cap of caps) {
    const delay = timer.failed();
    assert.ok(delay >= 0 && delay <= cap, `${delay} within ${cap}`);
  }
  timer.succeeded();
  for (let i = 0; i < 20; i++) {
    timer.succeeded();
    assert.ok(timer.failed() <= 100);
  }
});

it('runs one task at a time, and none once cancelled', async () => {
  const timer = new RetryTimer();
  const ran: string[] = [];
  timer.after(20, () => ran.push('replaced'));
  timer.after(20, () => ran.push('second'));
  await sleep(60);
  assert.deepEqual(ran, ['second']);
  timer.after(10, () => ran.push('cancelled'));
  timer.cancel();
  await sleep(40);
  assert.deepEqual(ran, ['second']);
});
