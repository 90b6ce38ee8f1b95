import { parseArgs } from 'node:util';
import { type HealthReport, probeHealth } from '../app/health-probe.ts';
import { endpointTarget, type ServiceInstance } from '../discovery/instance.ts';
import type { Registry } from '../discovery/registry.ts';
import { type CliIo, type Command, clientTlsHelp, EXIT_OK, UsageError, usage } from './command.ts';
import { openRegistry, REGISTRY_OPTIONS, registryFailure } from './registry-flags.ts';

const HELP = `Usage: switchboard ls [service] [--hub <url>] [options]

Without a service: the registered services and how many live instances each has.
With one: its instances (id, endpoints, version, zone, metadata) and the health of each,
probed over its first endpoint: grpc.health.v1.Health/Check over gRPC or native, GET /healthz
over HTTP. SERVING, NOT_SERVING, SERVICE_UNKNOWN, UNKNOWN (answered without a verdict, e.g. no
health service) or UNREACHABLE, with the reason.

Options:
      --hub <url>       the hub (default $SWITCHBOARD_HUB, else http://127.0.0.1:7070)
      --token <token>   the hub's access token (default $SWITCHBOARD_TOKEN)
${clientTlsHelp(24)}
      --consul <url>    read a Consul agent instead (http://127.0.0.1:8500)
      --eureka <url>    read a Eureka server instead (http://127.0.0.1:8761/eureka)
      --json            machine-readable output
      --timeout <ms>    how long each health probe may take (default 1000)
  -h, --help            this text

Exit codes: 0 success (also when nothing is registered), 1 the registry is unreachable, 2 usage.

Examples:
  switchboard ls
  switchboard ls greet.Greeter --json
`;

const DEFAULT_PROBE_TIMEOUT_MS = 1000;
/** Probes in flight at once, so a large service does not open thousands of sockets. */
const PROBE_CONCURRENCY = 32;

export const lsCommand: Command = {
  name: 'ls',
  summary: "list registered services, or one service's instances with their health",
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv,
        options: {
          ...REGISTRY_OPTIONS,
          json: { type: 'boolean' },
          timeout: { type: 'string' },
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
    const timeoutMs = values.timeout === undefined ? DEFAULT_PROBE_TIMEOUT_MS : Number(values.timeout);
    if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
      throw new UsageError(`--timeout takes a number of milliseconds, not ${JSON.stringify(values.timeout)}`);
    }
    const { registry, label } = await openRegistry(values);
    try {
      const service = positionals[0];
      if (service === undefined) await listServices(registry, label, values.json === true, io);
      else await listInstances(registry, label, service, timeoutMs, values.json === true, io);
      return EXIT_OK;
    } catch (err) {
      throw registryFailure(err, label);
    } finally {
      await registry.close();
    }
  },
};

async function listServices(registry: Registry, label: string, json: boolean, io: CliIo): Promise<void> {
  const names = (await registry.services()).sort();
  const services = await Promise.all(
    names.map(async (name) => ({ name, instances: (await registry.list(name)).length })),
  );
  if (json) {
    io.out(`${JSON.stringify({ services }, null, 2)}\n`);
    return;
  }
  if (services.length === 0) {
    io.out(`no services are registered with the ${label}\n`);
    return;
  }
  io.out(
    table(
      ['SERVICE', 'INSTANCES'],
      services.map((s) => [s.name, String(s.instances)]),
    ),
  );
}

async function listInstances(
  registry: Registry,
  label: string,
  service: string,
  timeoutMs: number,
  json: boolean,
  io: CliIo,
): Promise<void> {
  const instances = (await registry.list(service)).sort((a, b) => a.id.localeCompare(b.id));
  const health = await mapLimited(instances, PROBE_CONCURRENCY, (instance) => {
    const first = instance.endpoints[0];
    return first
      ? probeHealth(first, instance.service, timeoutMs)
      : Promise.resolve<HealthReport>({ status: 'UNREACHABLE', endpoint: '', detail: 'no endpoint' });
  });
  if (json) {
    const rows = instances.map((instance, i) => ({
      id: instance.id,
      endpoints: instance.endpoints.map(endpointTarget),
      ...(instance.version === undefined ? {} : { version: instance.version }),
      ...(instance.zone === undefined ? {} : { zone: instance.zone }),
      metadata: instance.metadata,
      health: health[i],
    }));
    io.out(`${JSON.stringify({ service, instances: rows }, null, 2)}\n`);
    return;
  }
  if (instances.length === 0) {
    io.out(`no instances of ${printable(service)} are registered with the ${label}\n`);
    return;
  }
  const rows = instances.map((instance, i) => {
    const report = health[i];
    return [
      instance.id,
      instance.endpoints.map(endpointTarget).join(','),
      instance.version || '-',
      instance.zone || '-',
      metadataText(instance) || '-',
      report ? `${report.status}${report.detail ? ` (${report.detail})` : ''}` : '-',
    ];
  });
  io.out(table(['ID', 'ENDPOINTS', 'VERSION', 'ZONE', 'METADATA', 'HEALTH'], rows));
}

function metadataText(instance: ServiceInstance): string {
  return Object.entries(instance.metadata)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** Left-aligned columns two spaces apart; the last column is not padded. */
function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows.map((row) => row.map(printable))];
  const widths = header.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** Text from the registry may hold anything: control characters must not reach the terminal. */
function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
