import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import type { Registry } from '../discovery/registry.ts';
import {
  CLIENT_TLS_OPTIONS,
  type ClientTlsFlags,
  clientTlsFiles,
  hubTlsHint,
  hubUrlForTls,
  UsageError,
} from './command.ts';

/** The flags that pick a registry: the hub (the default), or a Consul agent or Eureka server. */
export const REGISTRY_OPTIONS = {
  hub: { type: 'string' },
  consul: { type: 'string' },
  eureka: { type: 'string' },
  token: { type: 'string' },
  ...CLIENT_TLS_OPTIONS,
} as const;

/** With --tls-cert/--tls-key/--tls-ca, the hub is reached over https:// (mutual TLS with a certificate). */
export interface RegistryFlags extends ClientTlsFlags {
  hub?: string;
  consul?: string;
  eureka?: string;
  /** The hub's access token (docs/security.md#hub-access); $SWITCHBOARD_TOKEN unless given. */
  token?: string;
}

/** Requests to a registry from the command line fail after this long. */
const REGISTRY_TIMEOUT_MS = 5000;

/** True when the flags name a registry explicitly. */
export function namesRegistry(flags: RegistryFlags): boolean {
  return flags.hub !== undefined || flags.consul !== undefined || flags.eureka !== undefined;
}

export interface OpenedRegistry {
  registry: Registry;
  /** Where it is, for messages: "hub at http://127.0.0.1:7070". */
  label: string;
}

/**
 * The registry the flags name; without any, the hub at $SWITCHBOARD_HUB, else
 * http://127.0.0.1:7070. Loaded on demand, so commands that need none start faster.
 * `onError` hears of trouble in the background (failed heartbeats); only the hub reports it.
 */
export async function openRegistry(
  flags: RegistryFlags,
  options: { onError?: (err: Error) => void } = {},
): Promise<OpenedRegistry> {
  const given = (['hub', 'consul', 'eureka'] as const).filter((k) => flags[k] !== undefined);
  if (given.length > 1) throw new UsageError(`--${given[0]} and --${given[1]} exclude each other`);
  const flag = given[0] ?? 'hub';
  const tls = await clientTlsFiles(flags);
  if (tls && flag !== 'hub')
    throw new UsageError(`--tls-cert, --tls-key and --tls-ca are for the hub, not --${flag}`);
  try {
    if (flags.consul !== undefined) {
      const { ConsulRegistry } = await import('../discovery/consul/registry.ts');
      // Consul's own token: --token, else $CONSUL_HTTP_TOKEN as Consul's tools read it.
      return {
        registry: new ConsulRegistry({ url: flags.consul, token: flags.token }),
        label: `consul at ${flags.consul}`,
      };
    }
    if (flags.eureka !== undefined) {
      const { EurekaRegistry } = await import('../discovery/eureka/registry.ts');
      return {
        registry: new EurekaRegistry({ url: flags.eureka, requestTimeoutMs: REGISTRY_TIMEOUT_MS }),
        label: `eureka at ${flags.eureka}`,
      };
    }
    const { DEFAULT_HUB_URL, HubRegistry } = await import('../discovery/hub/registry.ts');
    const from =
      flags.hub !== undefined
        ? '--hub'
        : process.env.SWITCHBOARD_HUB !== undefined
          ? '$SWITCHBOARD_HUB'
          : undefined;
    const chosen = flags.hub ?? process.env.SWITCHBOARD_HUB ?? DEFAULT_HUB_URL;
    const url = tls ? hubUrlForTls(chosen, from) : chosen;
    const registry = new HubRegistry({
      url,
      requestTimeoutMs: REGISTRY_TIMEOUT_MS,
      onError: options.onError,
      token: flags.token,
      tls,
    });
    return { registry, label: `hub at ${registry.url}` };
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(`--${flag}: ${err.message}`);
    throw err;
  }
}

/**
 * A registry that could not be reached or refused a request, as the CLI reports it:
 * UNAVAILABLE with the registry's own words ("hub at http://…: connection refused").
 */
export function registryFailure(err: unknown, label: string): Error {
  if (err instanceof StatusError || err instanceof UsageError) return err;
  const message = (err as Error)?.message ?? String(err);
  const text = message.startsWith('hub at ') ? message : `${label}: ${withReason(message, err)}`;
  const hint = hubTlsHint(err, label.startsWith('hub at https://'));
  return new StatusError(Status.UNAVAILABLE, hint ? `${text} (${hint})` : text);
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** fetch() says only "fetch failed": the socket error is in the causes. */
function withReason(message: string, err: unknown): string {
  let cause = (err as { cause?: unknown })?.cause;
  let deepest: string | undefined;
  for (let depth = 0; cause && depth < 5; depth++) {
    const { code, message: text } = cause as { code?: string; message?: string };
    if (code && REASONS[code]) return `${message} (${REASONS[code]})`;
    if (text) deepest = text;
    cause = (cause as { cause?: unknown }).cause;
  }
  return deepest && !message.includes(deepest) ? `${message} (${deepest})` : message;
}
