import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Status } from '../contract/status.ts';
import { type ClusterEvents, combineClusterEvents } from './cluster-events.ts';

describe('combineClusterEvents', () => {
  const retry = { service: 's', method: 'M', attempt: 2, code: Status.UNAVAILABLE };
  const ejection = { service: 's', instance: 'i-1' };

  it('tells every observer, in order', () => {
    const seen: string[] = [];
    const observer = (name: string): ClusterEvents => ({
      retry: () => seen.push(`${name}:retry`),
      retryBudgetExhausted: () => seen.push(`${name}:exhausted`),
      ejected: (e) => seen.push(`${name}:ejected:${e.instance}`),
      ejectionEnded: (e) => seen.push(`${name}:ended:${e.reason}`),
    });
    const both = combineClusterEvents(observer('a'), undefined, observer('b'));
    both?.retry?.(retry);
    both?.retryBudgetExhausted?.(retry);
    both?.ejected?.(ejection);
    both?.ejectionEnded?.({ ...ejection, reason: 'removed' });
    assert.deepEqual(seen, [
      'a:retry',
      'b:retry',
      'a:exhausted',
      'b:exhausted',
      'a:ejected:i-1',
      'b:ejected:i-1',
      'a:ended:removed',
      'b:ended:removed',
    ]);
  });

  it('returns a lone observer itself, undefined for none, and only the hooks someone has', () => {
    const only: ClusterEvents = { retry: () => {} };
    assert.equal(combineClusterEvents(undefined, only), only);
    assert.equal(combineClusterEvents(undefined, undefined), undefined);
    const combined = combineClusterEvents({ retry: () => {} }, { ejected: () => {} });
    assert.deepEqual(Object.keys(combined ?? {}).sort(), ['ejected', 'retry']);
  });

  it('keeps the observer as `this` of its hooks', () => {
    class Counter implements ClusterEvents {
      count = 0;
      ejected(): void {
        this.count++;
      }
    }
    const a = new Counter();
    const b = new Counter();
    combineClusterEvents(a, b)?.ejected?.(ejection);
    assert.deepEqual([a.count, b.count], [1, 1]);
  });
});
