import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ciRunsOf, type FuzzTarget, failureReport, watchProcessErrors } from './fuzz-kit.ts';

/** One node:test case per target, each run with its CI budget; process-level errors fail it. */
export function fuzzSuite(title: string, targets: readonly FuzzTarget[]): void {
  describe(title, () => {
    let watch: ReturnType<typeof watchProcessErrors>;
    before(() => {
      watch = watchProcessErrors();
    });
    after(() => watch.dispose());
    for (const target of targets) {
      it(target.name, async () => {
        const open = await target.open();
        try {
          const details = await open.check({ numRuns: ciRunsOf(target) });
          if (details.failed) assert.fail(failureReport(target.name, details));
        } finally {
          await open.close?.();
        }
        watch.assertNone();
      });
    }
  });
}
