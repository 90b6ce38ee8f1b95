import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_HUB_PORT } from '../../hub/server.ts';
import { type Command, EXIT_OK, UsageError, usage } from '../command.ts';
import { DevSession, plural } from './dev-session.ts';
import { useColour } from './log-prefixer.ts';
import { findServices, selectServices } from './service-discovery.ts';

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const DEFAULT_GRACE_MS = 5_000;

const HELP = `Usage: switchboard dev [dir] [--port ${DEFAULT_HUB_PORT}] [--only a,b] [--exclude x] [options]

Runs a folder of services for development: the hub (registry and broker) in this process,
and every service of [dir] (default: the current folder) as a child process that restarts
when its files change. Runs until SIGINT (Ctrl-C) or SIGTERM, then stops every service and
the hub and exits 0; a second Ctrl-C kills the services at once.

Services: each immediate subfolder of [dir] holding main.ts (or main.js, main.mjs), named
after the folder. Other subfolders (proto/, lib/) are shared code. A service runs as
'node --import tsx <folder>/main.ts' in the current folder, with the environment of dev plus
SWITCHBOARD_HUB=<the hub's URL>, SWITCHBOARD_SERVICE_NAME=<folder name>, SWITCHBOARD_DEV=1.

Output: every line a service writes (stdout and stderr) goes to standard output as
'<name> │ <line>', coloured per service on a terminal or with FORCE_COLOR, never with
NO_COLOR; the hub's lines are prefixed 'hub', dev's own 'dev'.

Ready: a service has started once it registers an instance with the hub (Server.register()),
or says so itself: process.send?.({ switchboard: 'ready' }). While services start, a line
'starting 1/3: orders, payments' shows who is still awaited; a service not ready after
--ready-timeout is reported and left running.

Restarts: a change in a service's folder restarts that service; a change elsewhere in [dir]
(shared code) restarts them all; node_modules, .git and dotfiles are ignored. A service that
crashes is restarted after 0.5 s, 1 s, 2 s, ... (up to 10 s); one that crashes 3 times in a
row before it is ready is left stopped until its files change.

Options:
  -p, --port <port>          the hub's HTTP port (default ${DEFAULT_HUB_PORT}; 0 picks a free one)
      --host <addr>          the address the hub listens on (default 127.0.0.1)
  -d, --data <dir>           keep the hub's registry and broker log in <dir> (default: memory)
      --broker-port <port>   the hub's broker port (default: the HTTP port + 1)
      --only <a,b>           run only these services (repeatable, comma-separated)
      --exclude <x>          run every service but these (repeatable, comma-separated)
      --ready-timeout <ms>   report a service not ready after this (default ${DEFAULT_READY_TIMEOUT_MS}; 20s works)
      --grace <ms>           between SIGTERM and SIGKILL when stopping a service (default ${DEFAULT_GRACE_MS})
      --no-watch             do not restart services when files change
  -h, --help                 this text

Exit codes: 0 stopped by a signal, 1 the hub could not start (port in use), 2 usage error
(no such folder, no services in it, an unknown name in --only/--exclude).
`;

export const devCommand: Command = {
  name: 'dev',
  summary: 'run the hub and every service of a folder, restarting services when their files change',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv,
        options: {
          port: { type: 'string', short: 'p' },
          host: { type: 'string' },
          data: { type: 'string', short: 'd' },
          'broker-port': { type: 'string' },
          only: { type: 'string', multiple: true },
          exclude: { type: 'string', multiple: true },
          'ready-timeout': { type: 'string' },
          grace: { type: 'string' },
          'no-watch': { type: 'boolean' },
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
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
    const dir = path.resolve(positionals[0] ?? '.');
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new UsageError(`${JSON.stringify(positionals[0] ?? '.')} is not a folder`);
    }
    const found = findServices(dir);
    if (found.length === 0) {
      throw new UsageError(`no services in ${dir}: a service is a subfolder holding main.ts`);
    }
    const only = names(values.only);
    const exclude = names(values.exclude) ?? [];
    let services: ReturnType<typeof selectServices>;
    try {
      services = selectServices(found, only, exclude);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (services.length === 0) throw new UsageError('--only and --exclude leave no service to run');
    const port = portFlag('--port', values.port) ?? DEFAULT_HUB_PORT;
    if (values.data === '') throw new UsageError('--data: expected a folder');

    const tty = process.stdout.isTTY === true;
    const session = new DevSession({
      dir,
      services,
      accept: (name) => (only === undefined || only.includes(name)) && !exclude.includes(name),
      hub: {
        port,
        host: values.host ?? '127.0.0.1',
        dataDir: values.data,
        brokerPort: portFlag('--broker-port', values['broker-port']),
      },
      readyTimeoutMs: durationFlag('--ready-timeout', values['ready-timeout']) ?? DEFAULT_READY_TIMEOUT_MS,
      graceMs: durationFlag('--grace', values.grace) ?? DEFAULT_GRACE_MS,
      watch: values['no-watch'] !== true,
      colour: useColour(process.env, tty),
      tty,
      write: (text) => io.out(text),
    });

    // Listening starts before anything is spawned, so no signal can leave children behind.
    let signals = 0;
    let stopRequested: (signal: string) => void = () => {};
    const stopped = new Promise<string>((resolve) => {
      stopRequested = resolve;
    });
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) stopRequested(signal);
      else {
        session.say(`${signal} again: killing every service`);
        session.kill();
      }
    };
    // Output piped into a program that quit (`| head`): stop as for a signal, not crash.
    const onOutputError = () => stopRequested('closed output');
    process.stdout.on('error', onOutputError);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    try {
      await session.start();
      const signal = await stopped;
      session.say(
        `${signal}: stopping ${plural(session.serviceCount, 'service')} (Ctrl-C again to kill them at once)`,
      );
      await session.stop();
      session.say('stopped');
      return EXIT_OK;
    } catch (err) {
      await session.stop().catch(() => {});
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      process.stdout.off('error', onOutputError);
    }
  },
};

/** "a,b" --x c → [a, b, c]; undefined when the flag was not given. */
function names(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function portFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`${flag}: expected a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Milliseconds: "20000", or with a unit: "500ms", "20s", "1m". */
export function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const unit = { ms: 1, s: 1000, m: 60_000 }[(match?.[2] ?? 'ms') as 'ms' | 's' | 'm'];
  const ms = match ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!(ms > 0)) {
    throw new UsageError(`${flag}: expected milliseconds (or 20s, 1m), got ${JSON.stringify(value)}`);
  }
  return ms;
}
