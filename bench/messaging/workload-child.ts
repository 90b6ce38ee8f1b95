/**
 * One side of one comparison in one round, in a process of its own: connects the driver, runs
 * the workload, reports the figures and exits. A fresh process per run, so no client library's
 * timers, connections or garbage carry over into the next measurement.
 */
import { exitWithParent, reportToParent, runAsChild } from './ipc-child.ts';
import { connectDriver, type Endpoints, type Side, type TargetId } from './targets.ts';
import { runWorkload, type WorkloadResult, type WorkloadSettings } from './workload.ts';

export interface WorkloadChildSpec {
  target: TargetId;
  side: Side;
  endpoints: Endpoints;
  settings: WorkloadSettings;
}

export type WorkloadChildReport =
  | { type: 'result'; result: WorkloadResult; node: string; closeNote?: string }
  | { type: 'error'; message: string };

/** How long closing the driver may take before the process exits anyway. */
const CLOSE_MS = 10_000;

async function main(): Promise<void> {
  exitWithParent();
  const spec = JSON.parse(process.argv[2] ?? '{}') as WorkloadChildSpec;
  const driver = await connectDriver(spec.target, spec.side, spec.endpoints);
  const result = await runWorkload(driver, spec.settings);
  let closeNote: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    driver.close().catch((err: unknown) => {
      closeNote = `closing the driver failed: ${err instanceof Error ? err.message : String(err)}`;
    }),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        closeNote = `the driver did not close within ${CLOSE_MS / 1000} s`;
        resolve();
      }, CLOSE_MS);
    }),
  ]);
  clearTimeout(timer);
  const report: WorkloadChildReport = { type: 'result', result, node: process.version, closeNote };
  await reportToParent(report);
  process.exit(0);
}

runAsChild(import.meta.url, main);
