import { existsSync } from 'node:fs';

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

/** The flags that give a client TLS to an https:// hub: its certificate, key and the CA to trust. */
export const CLIENT_TLS_OPTIONS = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
} as const;

/** PEM files, as TlsFiles (transports/tls) and the hub clients' tls options take them. */
export interface ClientTlsFiles {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

export interface ClientTlsFlags {
  /** This client's certificate (PEM), for a hub that asks for one (mutual TLS). */
  'tls-cert'?: string;
  /** The key of --tls-cert. */
  'tls-key'?: string;
  /** The CA(s) to trust for the hub's certificate, instead of the system's. */
  'tls-ca'?: string;
}

/** The --help lines of CLIENT_TLS_OPTIONS, their descriptions starting at `column` as the rest of a command's. */
export function clientTlsHelp(column: number): string {
  const line = (flag: string, text: string) => `      ${flag}`.padEnd(column - 1) + ` ${text}`;
  return [
    line('--tls-cert <file>', 'a client certificate (PEM) for a hub that asks for one'),
    line('--tls-key <file>', 'the key of --tls-cert'),
    line('--tls-ca <file>', "the CA that signed the hub's certificate (default: the system's)"),
  ].join('\n');
}

/**
 * The TLS files the flags name, read once to check them: undefined without any; a UsageError
 * naming the flag or file when they are unusable.
 */
export async function clientTlsFiles(flags: ClientTlsFlags): Promise<ClientTlsFiles | undefined> {
  const files: ClientTlsFiles = {
    certFile: flags['tls-cert'],
    keyFile: flags['tls-key'],
    caFile: flags['tls-ca'],
  };
  if (files.certFile === undefined && files.keyFile === undefined && files.caFile === undefined)
    return undefined;
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  requireFiles([
    ['--tls-cert', files.certFile],
    ['--tls-key', files.keyFile],
    ['--tls-ca', files.caFile],
  ]);
  // Loaded here: most commands never touch TLS.
  const { readTlsFiles } = await import('../transports/tls/tls-files.ts');
  try {
    readTlsFiles(files);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return files;
}

/**
 * `url` as an https:// hub URL for a client with TLS flags: a URL from the user must say
 * https:// already (a UsageError names `from` otherwise); the default hub becomes https://.
 */
export function hubUrlForTls(url: string, from: string | undefined): string {
  if (/^https:\/\//i.test(url)) return url;
  if (from === undefined) return url.replace(/^http:\/\//i, 'https://');
  throw new UsageError(`--tls-cert, --tls-key and --tls-ca need an https:// hub, but ${from} is ${url}`);
}

/** A UsageError naming the first flag whose file does not exist: [flag, file or undefined] pairs. */
export function requireFiles(named: [flag: string, file: string | undefined][]): void {
  for (const [flag, file] of named) {
    if (file !== undefined && !existsSync(file)) throw new UsageError(`${flag}: no file ${file}`);
  }
}

/** Codes of a hub certificate this client does not trust. */
const UNTRUSTED_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/** Codes of a hub refusing this client's certificate, or its lack of one, during the handshake. */
const REFUSED_CODES = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
]);

/** Codes of a connection the other side closed: over TLS, often a refused client certificate. */
const CLOSED_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET']);

/**
 * What to do about a failed TLS connection to the hub, for the end of an error message, or
 * undefined when `err` is not about TLS. `https` says the hub was reached over TLS: a
 * connection closed at once then most likely means a client certificate was missing or not
 * accepted (TLS 1.3 clients learn of it only from the closed connection).
 */
export function hubTlsHint(err: unknown, https: boolean): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && typeof current === 'object' && depth < 6; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (UNTRUSTED_CODES.has(code)) return "trust the CA that signed the hub's certificate with --tls-ca";
      if (REFUSED_CODES.has(code) || (https && CLOSED_CODES.has(code))) {
        return 'the hub may require a client certificate signed by its CA: --tls-cert and --tls-key';
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
