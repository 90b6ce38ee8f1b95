import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type CliIo, type Command, EXIT_FAILED, EXIT_OK, UsageError, usage } from './command.ts';
import { createDevCa, DEFAULT_CERTS_DIR, DEFAULT_TRUST_DOMAIN, issueDevCert } from './dev-certs.ts';

const HELP = `Usage: switchboard certs init [--dir <dir>] [--trust-domain <domain>] [--force]
       switchboard certs issue <service> [--dns <name,...>] [--dir <dir>] [--days <n>]

Certificates for mutual TLS in development (see docs/security.md).

  init    creates a development CA in <dir>: ca.key (mode 0600) and ca.crt, ECDSA P-256,
          valid one year. Refuses to replace an existing CA unless --force.
  issue   creates <service>.crt and <service>.key (0600) in <dir>, signed by the CA, naming
          spiffe://<trust domain>/service/<service>, DNS localhost and --dns names, IP
          127.0.0.1; valid as server and client certificate. Files are replaced by rename,
          so servers watching them rotate to the new certificate.

Options:
      --dir <dir>              where the CA and certificates live (default ${DEFAULT_CERTS_DIR})
      --trust-domain <domain>  init: the SPIFFE trust domain (default ${DEFAULT_TRUST_DOMAIN})
      --force                  init: replace an existing CA (certificates it issued stop working)
      --dns <name,...>         issue: more DNS names (comma separated, repeatable)
      --days <n>               issue: validity in days (default 30)
  -h, --help                   this text

Exit codes: 0 success, 1 failure (ERROR <CODE>: message), 2 usage.
`;

export const certsCommand: Command = {
  name: 'certs',
  summary: 'create a development CA and per-service certificates for mutual TLS',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          dir: { type: 'string' },
          'trust-domain': { type: 'string' },
          force: { type: 'boolean' },
          dns: { type: 'string', multiple: true },
          days: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help) {
      io.out(HELP);
      return EXIT_OK;
    }
    const [action, ...rest] = positionals;
    const dir = values.dir ?? DEFAULT_CERTS_DIR;
    if (action === 'init') {
      if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
      if (values.dns || values.days) throw new UsageError('--dns and --days belong to certs issue');
      return init(io, dir, values['trust-domain'], values.force === true);
    }
    if (action === 'issue') {
      const [service, extra] = rest;
      if (!service) throw new UsageError('certs issue needs a service name');
      if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
      if (values['trust-domain'] || values.force)
        throw new UsageError('--trust-domain and --force belong to certs init');
      const days = values.days === undefined ? 30 : Number(values.days);
      if (!Number.isInteger(days) || days < 1)
        throw new UsageError(`--days must be a whole number >= 1, got ${values.days}`);
      const dnsNames = (values.dns ?? [])
        .flatMap((d) => d.split(','))
        .map((d) => d.trim())
        .filter(Boolean);
      const issued = await issueDevCert({ service, dir, dnsNames, days });
      io.out(
        `${issued.certFile}\n${issued.keyFile}\nidentity ${issued.uri}\nserial ${issued.serialNumber}\n`,
      );
      return EXIT_OK;
    }
    throw new UsageError(
      action === undefined ? 'certs needs init or issue' : `unknown action ${JSON.stringify(action)}`,
    );
  },
};

async function init(
  io: CliIo,
  dir: string,
  trustDomain: string | undefined,
  force: boolean,
): Promise<number> {
  if (!force && existsSync(path.join(dir, 'ca.key'))) {
    io.err(`ERROR ALREADY_EXISTS: a CA exists in ${dir} (--force replaces it)\n`);
    return EXIT_FAILED;
  }
  const ca = await createDevCa({ dir, trustDomain });
  io.out(`${ca.certFile}\n${ca.keyFile}\ntrust domain ${ca.trustDomain}\n`);
  return EXIT_OK;
}
