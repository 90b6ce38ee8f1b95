/**
 * The fuzz properties of test/fuzz, run for longer: each target until its time is up (or a
 * failure), then a summary. A failure prints fast-check's report and the command that replays
 * it (seed and path).
 *
 *   npx tsx scripts/fuzz.ts [--seconds N] [--target name[,name…]] [--seed S [--path P]] [--list]
 *
 * --seconds: time per target (default 30). --target: only these targets. --seed/--path:
 * replay one failure. Exits 1 when any target failed.
 */
import { failureReport, watchProcessErrors } from '../test/fuzz/fuzz-kit.ts';
import { allTargets } from '../test/fuzz/targets/index.ts';

interface Args {
  seconds: number;
  targets: string[] | undefined;
  seed: number | undefined;
  path: string | undefined;
  list: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seconds: 30, targets: undefined, seed: undefined, path: undefined, list: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--seconds') args.seconds = Number(value());
    else if (flag === '--target') args.targets = value().split(',');
    else if (flag === '--seed') args.seed = Number(value());
    else if (flag === '--path') args.path = value();
    else if (flag === '--list') args.list = true;
    else throw new Error(`unknown option ${flag} (see the comment at the top of scripts/fuzz.ts)`);
  }
  if (!(args.seconds > 0)) throw new Error('--seconds: expected a positive number');
  if (args.seed !== undefined && !Number.isInteger(args.seed)) throw new Error('--seed: expected an integer');
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const targets = await allTargets();
  if (args.list) {
    for (const t of targets) console.log(t.name);
    return 0;
  }
  const chosen = args.targets ? targets.filter((t) => args.targets?.includes(t.name)) : targets;
  const unknown = args.targets?.filter((name) => !targets.some((t) => t.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown target ${unknown.join(', ')}; --list shows them`);
  const watch = watchProcessErrors();
  let failed = 0;
  for (const target of chosen) {
    const open = await target.open();
    const started = Date.now();
    try {
      const replay = args.seed !== undefined;
      const details = await open.check({
        // A replay runs the one case; otherwise as many runs as fit in the time.
        numRuns: replay ? 1 : Number.MAX_SAFE_INTEGER,
        ...(replay ? { seed: args.seed, path: args.path } : { interruptAfterTimeLimit: args.seconds * 1000 }),
      });
      const took = ((Date.now() - started) / 1000).toFixed(1);
      if (details.failed || watch.errors.length > 0) {
        failed++;
        console.log(`FAIL ${target.name} after ${details.numRuns} runs (${took} s)`);
        if (details.failed) console.log(failureReport(target.name, details));
        for (const err of watch.errors.splice(0))
          console.log(`process-level error: ${err.stack ?? err.message}`);
      } else {
        console.log(`ok   ${target.name}: ${details.numRuns} runs in ${took} s (seed ${details.seed})`);
      }
    } finally {
      await open.close?.();
    }
  }
  watch.dispose();
  console.log(
    failed === 0 ? `all ${chosen.length} targets passed` : `${failed} of ${chosen.length} targets failed`,
  );
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error((err as Error).message);
    process.exitCode = 2;
  },
);
