import { ReflectionClient } from '../services/reflection-client.ts';
import { type Command, EXIT_OK, UsageError } from './command.ts';
import { connectTo, contractFor, parseTargetArgs } from './contract-source.ts';

const HELP = `Usage: switchboard list [package.Service] --target host:port [options]

Without a service: prints the services the server lists through gRPC reflection, one per
line. With one: prints its methods as .proto rpc lines, from reflection or from --proto.

Options:
  -t, --target <host:port>  the server (a grpc://, http://, native:// URL picks the transport)
      --transport <name>    grpc (the default), http or native
  -p, --proto <file>        describe the service from these .proto files, no server needed
  -I, --include <dir>       folder searched for imports (repeatable)
      --timeout <ms>        deadline of each reflection call (default 10000)
  -H, --header <key:value>  request metadata (repeatable)
  -h, --help                this text

Exit codes: 0 success, 1 the server failed or is unreachable (ERROR <CODE>: message), 2 usage.
`;

export const listCommand: Command = {
  name: 'list',
  summary: "list a server's services, or a service's methods (gRPC reflection)",
  help: HELP,
  async run(argv, io) {
    const args = parseTargetArgs(argv, io, HELP);
    if (!args) return EXIT_OK;
    const { values, positionals } = args;
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
    const serviceName = positionals[0];
    if (!serviceName) {
      if (values.proto) throw new UsageError('--proto needs a service name to describe');
      const connection = await connectTo(values);
      try {
        const services = await new ReflectionClient(connection.transport, {
          timeoutMs: connection.timeoutMs,
          metadata: connection.metadata,
        }).listServices();
        for (const name of services.sort()) io.out(`${name}\n`);
        return EXIT_OK;
      } finally {
        await connection.transport.close();
      }
    }
    // With --proto, the files describe the service: no server is needed.
    const connection = values.proto ? undefined : await connectTo(values);
    try {
      const contract = await contractFor(values, connection, [serviceName]);
      let service: ReturnType<typeof contract.service>;
      try {
        service = contract.service(serviceName);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      for (const m of service.methods) {
        const input = `${m.requestStream ? 'stream ' : ''}${m.input.fullName}`;
        const output = `${m.responseStream ? 'stream ' : ''}${m.output.fullName}`;
        io.out(`rpc ${m.name}(${input}) returns (${output})\n`);
      }
      return EXIT_OK;
    } finally {
      if (connection) await connection.transport.close();
    }
  },
};
