import path from 'node:path';
import { parseArgs } from 'node:util';
import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import { HubAccessPolicy } from '../hub/access/policy.ts';
import { DEFAULT_HUB_PORT, HubServer } from '../hub/server.ts';
import { DEFAULT_MAX_CONNECTIONS } from '../transports/listener-limits.ts';
import { type ServerTlsOptions, serverTls } from '../transports/tls/server-tls.ts';
import { type Command, EXIT_OK, firstSignal, requireFiles, UsageError, usage } from './command.ts';

const HELP = `Usage: switchboard hub [--port ${DEFAULT_HUB_PORT}] [--host 127.0.0.1] [--data <dir>] [--broker-port <port>]
                       [--tls-cert <file> --tls-key <file> [--tls-ca <file>]]

Runs the hub, Switchboard's embedded service registry and message broker, until SIGINT or
SIGTERM (then it closes its connections, saves the registry and exits 0). Services find it
through SWITCHBOARD_HUB (default http://127.0.0.1:${DEFAULT_HUB_PORT}). The same port answers Consul's
agent/health/catalog API (/v1/...) and Eureka's REST API (/eureka/apps, /eureka/v2/apps), so
Consul and Eureka clients register and discover through the hub too.

The broker listens on its own port (native transport; GET /api/v1/broker on the HTTP port
says where): with --data it is the embedded durable log under <dir>/broker, whose
acknowledged messages survive a crash; without, it keeps messages in memory.

Options:
  -p, --port <port>   the HTTP port (default ${DEFAULT_HUB_PORT}; 0 picks a free one)
      --host <addr>   the address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  -d, --data <dir>    keep the registry in <dir>/registry.json and the broker's log in
                      <dir>/broker across restarts (default: memory only)
      --broker-port <port>  the broker port (default: the HTTP port + 1, so ${DEFAULT_HUB_PORT + 1};
                      0 picks a free one; "off": no broker)
      --access <file> an access policy (JSON): tokens, and who may read, register, publish,
                      consume and see the dashboard (docs/security.md#hub-access); without
                      one, everyone may do everything
      --tls-cert <file>  the hub's certificate (PEM): HTTPS on the HTTP port, TLS on the
                      broker port (files are watched: a renewed certificate is served
                      without a restart)
      --tls-key <file>   the key of --tls-cert
      --tls-ca <file>    mutual TLS: clients must show a certificate this CA signed
      --tls-optional-client-cert  with --tls-ca: ask clients for a certificate but let
                      those without one in (--access then decides what they may do)
      --max-connections <n>  connections open at once on the HTTP port, and as many on
                      the broker port; more are closed at once (default ${DEFAULT_MAX_CONNECTIONS})
  -h, --help          this text

Prints "switchboard hub listening on http://host:port" (https:// with --tls-cert) and
"broker on host:port" once it accepts connections.
Exit codes: 0 stopped by a signal, 1 could not start (port in use, unreadable data), 2 usage.
`;

export const hubCommand: Command = {
  name: 'hub',
  summary: 'run the hub: the registry services find each other through, and the message broker',
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
          access: { type: 'string' },
          'tls-cert': { type: 'string' },
          'tls-key': { type: 'string' },
          'tls-ca': { type: 'string' },
          'tls-optional-client-cert': { type: 'boolean' },
          'max-connections': { type: 'string' },
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
    const brokerFlag = values['broker-port'];
    const brokerPort = brokerFlag === undefined || brokerFlag === 'off' ? undefined : Number(brokerFlag);
    if (
      brokerFlag !== undefined &&
      brokerFlag !== 'off' &&
      (!/^\d+$/.test(brokerFlag) || Number(brokerFlag) > 65535)
    ) {
      throw new UsageError(
        `--broker-port: expected a port number from 0 to 65535 or "off", got ${JSON.stringify(brokerFlag)}`,
      );
    }
    const host = values.host ?? '127.0.0.1';
    let access: HubAccessPolicy | undefined;
    try {
      access = values.access === undefined ? undefined : HubAccessPolicy.from(values.access);
    } catch (err) {
      throw new UsageError(`--access: ${(err as Error).message}`);
    }
    const tls = serverTlsFlags(values);
    const maxConnections = countFlag('--max-connections', values['max-connections']);
    const hub = new HubServer({
      access,
      tls,
      maxConnections,
      port,
      host,
      dataDir: values.data,
      brokerPort,
      broker: brokerFlag === 'off' ? false : undefined,
      log: (m) => io.err(`${m}\n`),
    });
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
      if (tls?.caFile !== undefined) {
        const which = tls.requireClientCert === false ? 'may show' : 'must show';
        io.out(`clients ${which} a certificate signed by ${tls.caFile}\n`);
      }
      if (hub.brokerTarget) {
        const kept = values.data ? `embedded log in ${path.join(values.data, 'broker')}` : 'in memory';
        io.out(`broker on ${hub.brokerTarget} (${kept})\n`);
      }
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

/** --tls-* as the hub's ServerTlsOptions, the files checked now: a bad one is a usage error. */
function serverTlsFlags(values: {
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-ca'?: string;
  'tls-optional-client-cert'?: boolean;
}): ServerTlsOptions | undefined {
  const { 'tls-cert': certFile, 'tls-key': keyFile, 'tls-ca': caFile } = values;
  const optional = values['tls-optional-client-cert'] === true;
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined || optional) {
      throw new UsageError('--tls-ca and --tls-optional-client-cert need --tls-cert and --tls-key');
    }
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined)
    throw new UsageError('--tls-cert and --tls-key go together');
  if (optional && caFile === undefined) throw new UsageError('--tls-optional-client-cert needs --tls-ca');
  requireFiles([
    ['--tls-cert', certFile],
    ['--tls-key', keyFile],
    ['--tls-ca', caFile],
  ]);
  const tls: ServerTlsOptions = {
    certFile,
    keyFile,
    caFile,
    ...(optional ? { requireClientCert: false } : {}),
  };
  try {
    serverTls(tls);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return tls;
}

/** A whole number >= 1, or undefined when the flag is not given. */
function countFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`${flag}: expected a whole number >= 1, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}
