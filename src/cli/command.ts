/** Exit codes of every command. */
export const EXIT_OK = 0;
/** The call (or the work) failed: the server answered with an error, or could not be reached. */
export const EXIT_FAILED = 1;
/** The command line was wrong: unknown flag, missing argument, bad JSON, unknown method. */
export const EXIT_USAGE = 2;

/** Where a command writes: the process' streams, or a test's buffers. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** All of standard input, for `-` arguments. */
  readStdin(): Promise<string>;
}

export interface Command {
  readonly name: string;
  /** One line, for `switchboard --help`. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

/** A mistake on the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs a node:util parseArgs call, turning its errors into UsageErrors. */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/**
 * The first SIGINT or SIGTERM, for commands that run until stopped (hub, register). Listening
 * starts at once, so a signal that comes while the command is still starting is not lost;
 * `release()` stops listening, after which a second signal stops the process the default way.
 */
export function firstSignal(): { stopped: Promise<string>; release(): void } {
  let stop: (signal: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    stop = resolve;
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    stopped,
    release() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
