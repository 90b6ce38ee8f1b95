import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StatusError } from '../contract/errors.ts';
import { callCommand } from './call.ts';
import { certsCommand } from './certs.ts';
import {
  type CliIo,
  type Command,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  processIo,
  UsageError,
} from './command.ts';
import { devCommand } from './dev/dev-command.ts';
import { genCommand } from './gen.ts';
import { hubCommand } from './hub.ts';
import { listCommand } from './list.ts';
import { lsCommand } from './ls.ts';
import { publishCommand } from './publish.ts';
import { registerCommand } from './register.ts';
import { serveCommand } from './serve.ts';
import { subscribeCommand } from './subscribe.ts';

const COMMANDS: readonly Command[] = [
  devCommand,
  serveCommand,
  callCommand,
  listCommand,
  genCommand,
  hubCommand,
  lsCommand,
  registerCommand,
  publishCommand,
  subscribeCommand,
  certsCommand,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: switchboard <command> [options]

Switchboard: one Protocol Buffers contract, served and called over gRPC, HTTP/REST and a
native TCP transport.

Commands:
${lines.join('\n')}

Run 'switchboard <command> --help' for a command's options.
Exit codes: 0 success, 1 failure (ERROR <CODE>: message on stderr), 2 usage error.
`;
}

/** Runs the `switchboard` command line; resolves to the exit code. Never throws. */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(mainHelp());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (name === 'help' && rest[0] !== undefined && !topic) {
      io.err(`switchboard: no command ${JSON.stringify(rest[0])}\n\n${mainHelp()}`);
      return EXIT_USAGE;
    }
    io.out(topic ? topic.help : mainHelp());
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`switchboard: unknown command ${JSON.stringify(name)}\n\n${mainHelp()}`);
    return EXIT_USAGE;
  }
  try {
    return await command.run([...rest], io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(
        `switchboard ${command.name}: ${err.message}\nRun 'switchboard ${command.name} --help' for usage.\n`,
      );
      return EXIT_USAGE;
    }
    const status = StatusError.from(err);
    io.err(`ERROR ${status.codeName}: ${status.message}\n`);
    return EXIT_FAILED;
  }
}

/** True when this module is the program node was started with (not imported by the launcher). */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await run(process.argv.slice(2));
}
