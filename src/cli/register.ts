import { parseArgs } from 'node:util';
import { type HealthReport, isUp, probeHealth } from '../app/health-probe.ts';
import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import {
  type Endpoint,
  endpointTarget,
  parseEndpoint,
  type ServiceInstance,
  validateInstance,
} from '../discovery/instance.ts';
import type { Lease, Registry } from '../discovery/registry.ts';
import {
  type CliIo,
  type Command,
  clientTlsHelp,
  EXIT_OK,
  firstSignal,
  UsageError,
  usage,
} from './command.ts';
import { openRegistry, REGISTRY_OPTIONS, registryFailure } from './registry-flags.ts';

const HELP = `Usage: switchboard register <service> <target...> [--hub <url>] [options]

Registers a service that is not Switchboard's (a Python gRPC server, a REST API) with the
hub, keeps its lease alive with heartbeats, and deregisters it on SIGINT or SIGTERM (then
exits 0): a small sidecar. Callers find it by name like any Switchboard service.

Arguments:
  <service>        the name callers resolve, e.g. greet.Greeter
  <target...>      where it answers: grpc://host:port, grpcs://, http://, https://, native://;
                   host:port alone is gRPC. --check and ls probe the first one.

Options:
      --hub <url>        the hub (default $SWITCHBOARD_HUB, else http://127.0.0.1:7070)
      --token <token>    the hub's access token (default $SWITCHBOARD_TOKEN)
${clientTlsHelp(25)}
      --consul <url>     register with a Consul agent instead
      --eureka <url>     register with a Eureka server instead
      --id <id>          the instance id (default: from the first target, e.g. 127.0.0.1-50051)
      --version <v>      the instance's version
      --zone <zone>      its zone, for callers that prefer their own
      --meta <key=value> metadata (repeatable)
      --ttl <duration>   lease time, 1s to 5m (default 10s); heartbeats every third of it
      --check            keep it registered only while the first target answers: gRPC health
                         (a server without a health service counts as up) or GET /healthz;
                         deregistered after 2 failed probes, registered again when one passes
  -h, --help             this text

Prints "registered <service> <id> at <targets> ..." on stdout once registered.
Exit codes: 0 stopped by a signal, 1 the registry is unreachable or refused, 2 usage error.

Example:
  switchboard register greet.Greeter grpc://127.0.0.1:50051 --meta lang=python
`;

const MIN_TTL_MS = 1000;
const MAX_TTL_MS = 5 * 60_000;
const DEFAULT_TTL_MS = 10_000;
/** Failed probes in a row that withdraw the registration under --check. */
const UNHEALTHY_THRESHOLD = 2;

export const registerCommand: Command = {
  name: 'register',
  summary: "register a service that is not Switchboard's, and keep it registered until stopped",
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv,
        options: {
          ...REGISTRY_OPTIONS,
          id: { type: 'string' },
          version: { type: 'string' },
          zone: { type: 'string' },
          meta: { type: 'string', multiple: true },
          ttl: { type: 'string' },
          check: { type: 'boolean' },
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
    const [service, ...targets] = positionals;
    if (!service)
      throw new UsageError('which service? e.g. switchboard register greet.Greeter grpc://127.0.0.1:50051');
    if (targets.length === 0)
      throw new UsageError(`where does ${service} answer? give a target like grpc://host:port`);
    const endpoints = targets.map(parseTarget);
    const ttlMs = values.ttl === undefined ? DEFAULT_TTL_MS : parseTtl(values.ttl);
    const instance = buildInstance(service, endpoints, values);
    // Heartbeats retry with backoff while the hub is away: report each kind of trouble once.
    let lastTrouble = '';
    const { registry, label } = await openRegistry(values, {
      onError: (err) => {
        if (err.message !== lastTrouble) io.err(`switchboard register: ${err.message} (retrying)\n`);
        lastTrouble = err.message;
      },
    });
    const sidecar = new Sidecar(registry, label, instance, ttlMs, io);
    // Signals that come while registering still stop the sidecar once it is up.
    const signals = firstSignal();
    // Heartbeat timers and idle sockets are unref'd (a client never keeps a program alive):
    // a sidecar waiting for its signal must hold the process open itself.
    const alive = setInterval(() => {}, 2 ** 30);
    try {
      const signal = values.check
        ? await sidecar.runChecked(signals.stopped)
        : await sidecar.run(signals.stopped);
      signals.release();
      io.err(`switchboard register: ${signal}, deregistering\n`);
      try {
        await sidecar.deregister();
      } catch (err) {
        const why = (err as Error).message;
        throw new StatusError(
          Status.UNAVAILABLE,
          `could not deregister ${instance.id} of ${service}: ${why} (its lease ends within ${ttlMs / 1000}s)`,
        );
      }
      return EXIT_OK;
    } catch (err) {
      throw registryFailure(err, label);
    } finally {
      clearInterval(alive);
      signals.release();
      await registry.close();
    }
  },
};

/** One registration, held until a signal; under --check, only while its target answers. */
class Sidecar {
  readonly #registry: Registry;
  readonly #label: string;
  readonly #instance: ServiceInstance;
  readonly #ttlMs: number;
  readonly #io: CliIo;
  #lease: Lease | undefined;

  constructor(registry: Registry, label: string, instance: ServiceInstance, ttlMs: number, io: CliIo) {
    this.#registry = registry;
    this.#label = label;
    this.#instance = instance;
    this.#ttlMs = ttlMs;
    this.#io = io;
  }

  /** Registers (a failure rejects: exit 1), then waits for the signal. */
  async run(stopped: Promise<string>): Promise<string> {
    await this.#register();
    return stopped;
  }

  /**
   * Probes the first target every ttl/3 (1 to 5 s): registers while it answers, withdraws after
   * UNHEALTHY_THRESHOLD failures in a row. The first registration failing ends the command;
   * later ones are reported and tried again at the next probe.
   */
  async runChecked(stopped: Promise<string>): Promise<string> {
    let signal: string | undefined;
    void stopped.then((s) => {
      signal = s;
    });
    const intervalMs = Math.min(5000, Math.max(1000, this.#ttlMs / 3));
    const endpoint = this.#instance.endpoints[0] as Endpoint;
    let failures = 0;
    let registeredOnce = false;
    let lastStatus: string | undefined;
    while (signal === undefined) {
      const report = await probeHealth(endpoint, this.#instance.service, Math.min(1000, intervalMs));
      const status = statusText(report);
      if (isUp(report)) {
        failures = 0;
        if (!this.#lease) {
          try {
            await this.#register();
            registeredOnce = true;
          } catch (err) {
            if (!registeredOnce) throw err;
            this.#io.err(`switchboard register: ${(err as Error).message} (retrying)\n`);
          }
        }
      } else {
        failures++;
        if (this.#lease && failures >= UNHEALTHY_THRESHOLD) {
          this.#io.err(
            `switchboard register: ${report.endpoint} is ${status}: deregistering until it answers\n`,
          );
          await this.deregister().catch((err: Error) => {
            this.#io.err(`switchboard register: ${err.message} (the lease ends by itself)\n`);
          });
        } else if (!this.#lease && status !== lastStatus) {
          this.#io.err(`switchboard register: ${report.endpoint} is ${status}: waiting for it to answer\n`);
        }
      }
      lastStatus = status;
      if (signal === undefined) await Promise.race([stopped, delay(intervalMs)]);
    }
    return signal;
  }

  /** Withdraws the registration, if any; a failure rejects (the lease ends by itself within the ttl). */
  async deregister(): Promise<void> {
    const lease = this.#lease;
    this.#lease = undefined;
    await lease?.deregister();
  }

  async #register(): Promise<void> {
    try {
      this.#lease = await this.#registry.register(this.#instance, { ttlMs: this.#ttlMs });
    } catch (err) {
      if (err instanceof TypeError) throw new UsageError(err.message);
      throw err;
    }
    const { service, id, endpoints } = this.#instance;
    const at = endpoints.map(endpointTarget).join(' ');
    this.#io.out(
      `registered ${service} ${id} at ${at} with the ${this.#label} (ttl ${this.#ttlMs / 1000}s)\n`,
    );
  }
}

function statusText(report: HealthReport): string {
  return `${report.status}${report.detail ? ` (${report.detail})` : ''}`;
}

/** A timer that does not keep the process alive by itself (the running command does). */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function parseTarget(target: string): Endpoint {
  try {
    return parseEndpoint(target);
  } catch (err) {
    throw new UsageError(`invalid target: ${(err as Error).message}`);
  }
}

/** "10s", "500ms", "1m", "1.5m"; a bare number is seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  const unit = { ms: 1, s: 1000, m: 60_000 }[(match?.[2] ?? 's') as 'ms' | 's' | 'm'];
  const ms = match ? Number(match[1]) * unit : Number.NaN;
  if (!(ms >= MIN_TTL_MS && ms <= MAX_TTL_MS)) {
    throw new UsageError(
      `--ttl: expected a duration from 1s to 5m like 10s or 1m, got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

function buildInstance(
  service: string,
  endpoints: Endpoint[],
  flags: { id?: string; version?: string; zone?: string; meta?: string[] },
): ServiceInstance {
  const entries = (flags.meta ?? []).map((entry) => {
    const cut = entry.indexOf('=');
    if (cut <= 0) throw new UsageError(`--meta takes key=value, not ${JSON.stringify(entry)}`);
    return [entry.slice(0, cut), entry.slice(cut + 1)] as const;
  });
  // fromEntries defines own properties, so even a "__proto__" key stays a key.
  const metadata = Object.fromEntries(entries);
  const first = endpoints[0] as Endpoint;
  const id = flags.id ?? `${first.host}-${first.port}`.replace(/[^A-Za-z0-9_.:-]/g, '-');
  try {
    return validateInstance({
      service,
      id,
      endpoints,
      metadata,
      ...(flags.version === undefined ? {} : { version: flags.version }),
      ...(flags.zone === undefined ? {} : { zone: flags.zone }),
    });
  } catch (err) {
    const message = (err as Error).message.replace(/^id:/, '--id:').replace(/^metadata/, '--meta');
    throw new UsageError(message);
  }
}
