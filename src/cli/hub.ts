import path from 'node:path';
import { parseArgs } from 'node:util';
import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import { DEFAULT_HUB_PORT, HubServer } from '../hub/server.ts';
import { type Command, EXIT_OK, firstSignal, UsageError, usage } from './command.ts';

const HELP = `Usage: switchboard hub [--port ${DEFAULT_HUB_PORT}] [--host 127.0.0.1] [--data <dir>]

Runs the hub, Switchboard's embedded service registry, until SIGINT or SIGTERM (then it
closes its connections, saves the registry and exits 0). Services find it through
SWITCHBOARD_HUB (default http://127.0.0.1:${DEFAULT_HUB_PORT}). The same port answers Consul's
agent/health/catalog API (/v1/...) and Eureka's REST API (/eureka/apps, /eureka/v2/apps), so
Consul and Eureka clients register and discover through the hub too.

Options:
  -p, --port <port>   the HTTP port (default ${DEFAULT_HUB_PORT}; 0 picks a free one)
      --host <addr>   the address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  -d, --data <dir>    keep the registry in <dir>/registry.json across restarts (default: memory only)
  -h, --help          this text

Prints "switchboard hub listening on http://host:port" once it accepts connections.
Exit codes: 0 stopped by a signal, 1 could not start (port in use, unreadable data), 2 usage.
`;

export const hubCommand: Command = {
  name: 'hub',
  summary: 'run the hub: the service registry services register with and find each other through',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv,
        options: {
          port: { type: 'string', short: 'p' },
          host: { type: 'string' },
          data: { type: 'string', short: 'd' },
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
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const port = values.port === undefined ? DEFAULT_HUB_PORT : Number(values.port);
    if (!/^\d+$/.test(values.port ?? '0') || port > 65535) {
      throw new UsageError(
        `--port: expected a port number from 0 to 65535, got ${JSON.stringify(values.port)}`,
      );
    }
    if (values.data === '') throw new UsageError('--data: expected a folder');
    const host = values.host ?? '127.0.0.1';
    const hub = new HubServer({ port, host, dataDir: values.data, log: (m) => io.err(`${m}\n`) });
    // Signals that come while starting still stop the hub once it is up.
    const signals = firstSignal();
    try {
      try {
        await hub.listen();
      } catch (err) {
        await hub.close();
        const e = err as NodeJS.ErrnoException;
        const why = e.code === 'EADDRINUSE' ? 'the address is in use' : e.message;
        throw new StatusError(Status.UNAVAILABLE, `cannot start the hub on ${host}:${port}: ${why}`);
      }
      io.out(`switchboard hub listening on ${hub.url}\n`);
      if (values.data) {
        io.out(
          `registry kept in ${path.join(values.data, 'registry.json')} (${hub.registry.size} restored)\n`,
        );
      }
      const signal = await signals.stopped;
      signals.release();
      io.err(`switchboard hub: ${signal}, closing\n`);
      await hub.close();
      return EXIT_OK;
    } finally {
      signals.release();
    }
  },
};
