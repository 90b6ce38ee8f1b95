import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../../../test/support/wait.ts';
import { type CommitEntry, Committer } from './committer.ts';

/** A committer over a counter: each commit takes `ms` and records the value it saw. */
function counting(intervalMs: number, ms = 5) {
  let value = 0;
  let inFlight = 0;
  let overlap = false;
  const commits: number[] = [];
  const committer = new Committer(
    () => (commits.at(-1) === value ? [] : [entry(value)]),
    async ([e]: CommitEntry[]) => {
      inFlight++;
      overlap ||= inFlight > 1;
      await sleep(ms);
      inFlight--;
      commits.push(e!.offset);
    },
    (err) => assert.fail(err),
    intervalMs,
  );
  return {
    committer,
    commits,
    set: (v: number) => {
      value = v;
      committer.request();
    },
    overlapped: () => overlap,
  };
}

function entry(offset: number): CommitEntry {
  return { partition: 0, offset, metadata: '', committed: () => {} };
}

describe('Committer', () => {
  it('folds requests into one commit per interval, the last value included', async () => {
    const c = counting(50);
    for (let v = 1; v <= 100; v++) {
      c.set(v);
      if (v % 10 === 0) await sleep(5);
    }
    await sleep(150);
    assert.equal(c.commits.at(-1), 100);
    assert.ok(c.commits.length <= 4, `${c.commits.length} commits`);
    assert.equal(c.overlapped(), false);
  });

  it('flushes at once, and never runs two commits together', async () => {
    const c = counting(10_000);
    c.set(1); // commits at once: nothing was committed before
    c.set(2); // waits for the interval
    await c.committer.flush();
    assert.deepEqual(c.commits, [1, 2]);
    assert.equal(c.overlapped(), false);
    c.committer.close();
    c.set(3);
    await sleep(20);
    assert.deepEqual(c.commits, [1, 2], 'nothing after close');
  });

  it('commits an urgent request without waiting for the interval', async () => {
    const c = counting(10_000);
    c.set(1);
    c.set(2); // waits for the interval
    await sleep(20);
    assert.deepEqual(c.commits, [1]);
    c.committer.request(true);
    await sleep(20);
    assert.deepEqual(c.commits, [1, 2]);
    c.committer.close();
  });

  it('tries a failed commit again, quietly when the group rebalances', async () => {
    let tries = 0;
    const reported: Error[] = [];
    const committer = new Committer(
      () => (tries < 2 ? [entry(1)] : []),
      async () => {
        tries++;
        // kafkajs hands the protocol error over wrapped, as a retrier's cause
        const cause = Object.assign(new Error('rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
        if (tries === 1) throw new Error('rebalancing', { cause });
      },
      (err) => reported.push(err),
      1,
    );
    committer.request();
    await sleep(1300);
    assert.equal(tries, 2);
    assert.deepEqual(reported, []);
    committer.close();
  });
});
