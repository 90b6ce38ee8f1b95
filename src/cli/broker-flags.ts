import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import { DEFAULT_HUB_URL } from '../discovery/hub/registry.ts';
import type { Broker } from '../messaging/broker.ts';
import {
  CLIENT_TLS_OPTIONS,
  type ClientTlsFlags,
  clientTlsFiles,
  clientTlsHelp,
  hubTlsHint,
  hubUrlForTls,
  UsageError,
} from './command.ts';

/** The flags that pick a broker: the hub's (the default), or any URL openBroker() takes. */
export const BROKER_OPTIONS = {
  hub: { type: 'string' },
  broker: { type: 'string' },
  token: { type: 'string' },
  ...CLIENT_TLS_OPTIONS,
} as const;

/** With --tls-cert/--tls-key/--tls-ca, the hub's HTTPS port and its broker port are reached over TLS. */
export interface BrokerFlags extends ClientTlsFlags {
  hub?: string;
  broker?: string;
  /** The hub's access token; $SWITCHBOARD_TOKEN unless given. */
  token?: string;
}

/** The lines of --help that describe BROKER_OPTIONS, for every command that takes them. */
export const BROKER_FLAGS_HELP = `      --hub <url>         the hub whose broker to use (default $SWITCHBOARD_HUB, else
                          ${DEFAULT_HUB_URL})
      --broker <url>      a broker URL instead (default $SWITCHBOARD_BROKER): a hub's
                          http://host:port, or hub://host:port for its broker port
      --token <token>     the hub's access token (default $SWITCHBOARD_TOKEN)
${clientTlsHelp(26)}`;

/**
 * How long the command line waits for a broker that does not answer: to find a hub's broker
 * port, to have a publish accepted, to join a group.
 */
export const BROKER_TIMEOUT_MS = 5000;

export interface OpenedBroker {
  broker: Broker;
  /** Where it is, for messages: "hub at http://127.0.0.1:7070", "broker at hub://h:7071". */
  label: string;
}

/** A broker URL and where it came from, for messages: "--broker", "$SWITCHBOARD_HUB", … */
export interface ChosenBroker {
  url: string;
  /** Undefined for the default hub. */
  from?: string;
}

/**
 * The broker URL the flags name. A flag beats the environment; --broker and --hub together
 * are a usage error; of the environment, $SWITCHBOARD_BROKER beats $SWITCHBOARD_HUB.
 */
export function chooseBroker(flags: BrokerFlags, env: NodeJS.ProcessEnv = process.env): ChosenBroker {
  if (flags.broker !== undefined && flags.hub !== undefined) {
    throw new UsageError('--hub and --broker exclude each other');
  }
  const sources: [string, string | undefined][] = [
    ['--broker', flags.broker],
    ['--hub', flags.hub],
    ['$SWITCHBOARD_BROKER', env.SWITCHBOARD_BROKER || undefined],
    ['$SWITCHBOARD_HUB', env.SWITCHBOARD_HUB || undefined],
  ];
  const found = sources.find(([, url]) => url !== undefined);
  return found ? { url: (found[1] as string).trim(), from: found[0] } : { url: DEFAULT_HUB_URL };
}

/** Opens the broker the flags name; trouble comes out as brokerFailure() describes. */
export async function openBrokerFlags(flags: BrokerFlags): Promise<OpenedBroker> {
  const chosen = chooseBroker(flags);
  const tls = await clientTlsFiles(flags);
  const url = tls ? brokerUrlForTls(chosen) : chosen.url;
  const { openBroker, redacted } = await import('../app/brokers/open-broker.ts');
  const label = /^https?:\/\//i.test(url) ? `hub at ${url}` : `broker at ${redacted(url)}`;
  try {
    return {
      broker: await openBroker(url, { timeoutMs: BROKER_TIMEOUT_MS, token: flags.token, tls }),
      label,
    };
  } catch (err) {
    if (err instanceof TypeError && chosen.from) throw new UsageError(`${chosen.from}: ${err.message}`);
    throw brokerFailure(err, label);
  }
}

/**
 * The URL of a hub's broker reached over TLS: https://host:port (the hub's HTTPS port says
 * where its broker port is; the default hub becomes https) or hub://host:port (the broker port).
 */
function brokerUrlForTls(chosen: ChosenBroker): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(chosen.url)?.[1]?.toLowerCase();
  if (scheme === 'hub') return chosen.url;
  if (scheme !== 'http' && scheme !== 'https') {
    throw new UsageError(
      `--tls-cert, --tls-key and --tls-ca are for a hub's broker (https:// or hub://), not ${chosen.url}`,
    );
  }
  return hubUrlForTls(chosen.url, chosen.from);
}

/**
 * A broker failure as the command line reports it, on one line: the status of the broker's
 * answer if there was one, else UNAVAILABLE; the broker's own words, prefixed with where it
 * is unless they say so already, and the socket's reason when the words hide it ("fetch
 * failed"). A TypeError is a malformed topic, group or message: a usage error.
 */
export function brokerFailure(err: unknown, label: string): Error {
  if (err instanceof UsageError) return err;
  if (err instanceof TypeError && !hasCause(err)) return new UsageError(err.message);
  const status = findCause(err, (e): e is StatusError => e instanceof StatusError);
  const message = oneLine((err as Error)?.message ?? String(err));
  const where = message.includes(hostOf(label)) ? '' : `${label}: `;
  const hint = hubTlsHint(err, label.startsWith('hub at https://'));
  const text = `${where}${withReason(message, err)}${hint ? ` (${hint})` : ''}`;
  return new StatusError(status?.code ?? Status.UNAVAILABLE, text, { cause: err });
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/**
 * fetch() says only "fetch failed": the socket's reason is in the causes. The reason replaces
 * those words, or follows a message that does not hold it already.
 */
function withReason(message: string, err: unknown): string {
  const coded = findCause(err, (e): e is { code: string } => REASONS[codeOf(e)] !== undefined);
  let reason = coded ? (REASONS[coded.code] as string) : undefined;
  if (coded && message.includes(coded.code)) return message;
  if (!reason && message.endsWith('fetch failed')) reason = deepestMessage(err);
  if (!reason || message.includes(reason)) return message;
  return message.endsWith('fetch failed')
    ? `${message.slice(0, -'fetch failed'.length)}${reason}`
    : `${message} (${reason})`;
}

function codeOf(err: object): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/** "127.0.0.1:7070" of "hub at http://127.0.0.1:7070", to tell whether a message names it. */
function hostOf(label: string): string {
  const url = label.slice(label.indexOf(' at ') + ' at '.length);
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

function deepestMessage(err: unknown): string | undefined {
  let deepest: string | undefined;
  findCause(err, (e): e is object => {
    const text = (e as { message?: unknown }).message;
    if (typeof text === 'string' && text) deepest = text;
    return false;
  });
  return deepest;
}

function findCause<T>(err: unknown, match: (e: object) => e is T & object): T | undefined {
  let current: unknown = err;
  for (let depth = 0; current && typeof current === 'object' && depth < 6; depth++) {
    if (match(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function hasCause(err: Error): boolean {
  return (err as { cause?: unknown }).cause !== undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
