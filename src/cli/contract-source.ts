import { parseArgs } from 'node:util';
import type { Contract } from '../contract/contract.ts';
import { loadContract } from '../contract/contract.ts';
import { StatusError } from '../contract/errors.ts';
import { Metadata } from '../contract/metadata.ts';
import { Status } from '../contract/status.ts';
import type { ClientTransport } from '../core/transport.ts';
import { ReflectionClient } from '../services/reflection-client.ts';
import { type CliIo, UsageError, usage } from './command.ts';

/** The flags shared by commands that talk to a server. */
export const TARGET_OPTIONS = {
  target: { type: 'string', short: 't' },
  transport: { type: 'string' },
  proto: { type: 'string', short: 'p', multiple: true },
  include: { type: 'string', short: 'I', multiple: true },
  timeout: { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Parses the flags and arguments of a command that talks to a server. With --help, prints
 * `help` and returns undefined: the command is done (exit 0).
 */
export function parseTargetArgs(argv: string[], io: CliIo, help: string) {
  const parsed = usage(() =>
    parseArgs({ args: argv, options: TARGET_OPTIONS, allowPositionals: true, strict: true }),
  );
  if (parsed.values.help) {
    io.out(help);
    return undefined;
  }
  return parsed;
}

export const TRANSPORT_NAMES = ['grpc', 'http', 'native'] as const;
export type TransportName = (typeof TRANSPORT_NAMES)[number];

export interface TargetFlags {
  target?: string;
  transport?: string;
  proto?: string[];
  include?: string[];
  timeout?: string;
  header?: string[];
}

export interface Connection {
  transport: ClientTransport;
  metadata: Metadata;
  timeoutMs: number | undefined;
}

/** Opens a client transport to --target over --transport (checked here, so mistakes exit 2). */
export async function connectTo(flags: TargetFlags): Promise<Connection> {
  if (!flags.target) throw new UsageError('--target host:port is required');
  const settings = callSettings(flags);
  const transport = await clientTransportFor(flags.target, settings.transport);
  return { transport, metadata: settings.metadata, timeoutMs: settings.timeoutMs };
}

/** --transport, --timeout and -H, checked: mistakes are usage errors. */
export function callSettings(flags: TargetFlags): {
  transport: TransportName | undefined;
  timeoutMs: number | undefined;
  metadata: Metadata;
} {
  const name = flags.transport;
  if (name !== undefined && !(TRANSPORT_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(
      `--transport must be one of ${TRANSPORT_NAMES.join(', ')}, not ${JSON.stringify(name)}`,
    );
  }
  const timeoutMs = flags.timeout === undefined ? undefined : Number(flags.timeout);
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new UsageError(`--timeout takes a number of milliseconds, not ${JSON.stringify(flags.timeout)}`);
  }
  return { transport: name as TransportName | undefined, timeoutMs, metadata: headers(flags.header ?? []) };
}

/**
 * The transport classes are loaded only here, through the app's composition module, so that
 * `gen` and `--help` work without them (and start faster).
 */
async function clientTransportFor(
  target: string,
  transport: TransportName | undefined,
): Promise<ClientTransport> {
  const { clientTransport } = await import('../app/connect.ts');
  try {
    return clientTransport({ target, transport });
  } catch (err) {
    throw new UsageError(`invalid --target ${JSON.stringify(target)}: ${(err as Error).message}`);
  }
}

/** `-H key:value` (or `key=value`) flags as call metadata; `-bin` keys take base64. */
export function headers(list: readonly string[]): Metadata {
  const metadata = new Metadata();
  for (const header of list) {
    const cut = header.search(/[:=]/);
    if (cut <= 0) throw new UsageError(`-H takes key:value, not ${JSON.stringify(header)}`);
    const key = header.slice(0, cut).trim().toLowerCase();
    const value = header.slice(cut + 1).trim();
    try {
      metadata.add(key, Metadata.isBinaryKey(key) ? Buffer.from(value, 'base64') : value);
    } catch (err) {
      throw new UsageError(`-H ${header}: ${(err as Error).message}`);
    }
  }
  return metadata;
}

/**
 * The contract to call with: the --proto files, or what the server describes through
 * reflection for `symbols` when no --proto is given.
 */
export async function contractFor(
  flags: TargetFlags,
  connection: Connection | undefined,
  symbols: string[],
): Promise<Contract> {
  if (flags.proto && flags.proto.length > 0) {
    try {
      return await loadContract(flags.proto, { includeDirs: flags.include ?? [] });
    } catch (err) {
      throw new UsageError(`cannot load ${flags.proto.join(', ')}: ${(err as Error).message}`);
    }
  }
  if (!connection) throw new UsageError('--target or --proto is required');
  const reflection = new ReflectionClient(connection.transport, {
    timeoutMs: connection.timeoutMs,
    metadata: connection.metadata,
  });
  try {
    return await reflection.contract(symbols);
  } catch (err) {
    if (err instanceof StatusError && err.code === Status.UNIMPLEMENTED) {
      const what = 'the server does not serve reflection';
      const why = err.message === what ? what : `${what} (${err.message})`;
      throw new StatusError(Status.UNIMPLEMENTED, `${why}: give the contract with --proto`);
    }
    throw err;
  }
}
