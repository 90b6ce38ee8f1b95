import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_HUB_URL } from '../discovery/hub/registry.ts';
import { type Command, EXIT_FAILED, EXIT_OK, UsageError, usage } from './command.ts';
import { serviceLaunch } from './dev/service-command.ts';

const HELP = `Usage: switchboard serve <entry.ts> [--hub <url>] [--name <name>]

Runs one service file in the foreground, as 'switchboard dev' runs each of its services:
'node --import tsx <entry>' with this environment plus SWITCHBOARD_HUB (from --hub, else
$SWITCHBOARD_HUB, else ${DEFAULT_HUB_URL}), SWITCHBOARD_SERVICE_NAME (--name, else the
entry's folder name) and SWITCHBOARD_DEV=1. Its output is passed through unchanged; its
standard input is empty (it runs in a process group of its own).

SIGINT, SIGTERM and SIGHUP are passed on to the service, which stops as it sees fit; the
service is stopped too if serve itself is killed.

Options:
      --hub <url>      the hub the service registers with (default $SWITCHBOARD_HUB, else
                       ${DEFAULT_HUB_URL})
  -n, --name <name>    SWITCHBOARD_SERVICE_NAME (default: the entry's folder name)
  -h, --help           this text

Exit codes: 0 the service exited 0, 1 it could not start or was killed by a signal, 2 usage
error (no entry, an entry that is not a file); any other code the service exits with is
passed on as it is.
`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run one service file in the foreground with the environment dev gives its services',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv,
        options: {
          hub: { type: 'string' },
          name: { type: 'string', short: 'n' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) {
      io.out(HELP);
      return EXIT_OK;
    }
    const [entryArg, ...extra] = positionals;
    if (!entryArg) throw new UsageError('which file? e.g. switchboard serve orders/main.ts');
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const entry = path.resolve(entryArg);
    if (!existsSync(entry) || !statSync(entry).isFile()) {
      throw new UsageError(`${JSON.stringify(entryArg)} is not a file`);
    }
    const hubUrl = values.hub ?? (process.env.SWITCHBOARD_HUB || DEFAULT_HUB_URL);
    try {
      new URL(hubUrl);
    } catch {
      throw new UsageError(`--hub: ${JSON.stringify(hubUrl)} is not a URL`);
    }
    const name = values.name ?? path.basename(path.dirname(entry));
    const launch = serviceLaunch(entry, { hubUrl, name });
    // Its own process group, so a Ctrl-C at the terminal reaches the service once (from
    // here), not twice (from the terminal and from here).
    const child = spawn(launch.command, launch.args, {
      env: launch.env,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    const forward = (signal: NodeJS.Signals) => {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    };
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (const signal of signals) process.on(signal, forward);
    try {
      return await new Promise<number>((resolve) => {
        child.once('error', (err) => {
          io.err(`ERROR UNAVAILABLE: cannot start ${entryArg}: ${err.message}\n`);
          resolve(EXIT_FAILED);
        });
        child.once('exit', (code, signal) => {
          if (signal) io.err(`switchboard serve: the service was killed by ${signal}\n`);
          resolve(code ?? EXIT_FAILED);
        });
      });
    } finally {
      for (const signal of signals) process.off(signal, forward);
    }
  },
};
