import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { MethodDescriptor } from '../contract/descriptors.ts';
import { createClient } from '../core/client.ts';
import type { CallOptions } from '../core/transport.ts';
import type { Message, UntypedService } from '../core/types.ts';
import { callsByName, connectByName } from './by-name.ts';
import { type CliIo, type Command, clientTlsHelp, EXIT_OK, UsageError, usage } from './command.ts';
import { type Connection, connectTo, contractFor, TARGET_OPTIONS } from './contract-source.ts';
import { REGISTRY_OPTIONS } from './registry-flags.ts';

const HELP = `Usage: switchboard call <package.Service/Method> [json] --target host:port [options]
       switchboard call <package.Service/Method> [json] --hub <url> [options]

Calls one method and prints the response as JSON (the proto3 JSON mapping). A response
stream prints one JSON object per line. With --hub (or $SWITCHBOARD_HUB and no --target) the
call goes by name: to one of the instances registered for package.Service.

Arguments:
  <package.Service/Method>  e.g. greet.Greeter/SayHello (also greet.Greeter.SayHello)
  [json]                    the request, {} if left out; - reads standard input, @file a file.
                            Client and bidi streams take an array of requests, or one JSON
                            object per line.

Options:
  -t, --target <host:port>  the server; a URL (grpc://, grpcs://, http://, https://,
                            native://) also picks the transport
      --transport <name>    grpc (the default), http or native; by name: the endpoints
                            to prefer (native, then grpc, then http unless set)
      --hub <url>           call by name through the hub (default $SWITCHBOARD_HUB)
      --token <token>       the hub's access token (default $SWITCHBOARD_TOKEN)
${clientTlsHelp(28)}
      --consul <url>        call by name through a Consul agent
      --eureka <url>        call by name through a Eureka server
  -p, --proto <file>        .proto file(s) of the contract (repeatable); without it the
                            contract is fetched from the server through gRPC reflection
  -I, --include <dir>       folder searched for imports (repeatable)
      --timeout <ms>        deadline of the call (default 30000)
  -H, --header <key:value>  request metadata (repeatable); -bin keys take base64
  -h, --help                this text

Exit codes: 0 success, 1 the call failed (ERROR <CODE>: message on stderr), 2 usage error.

Examples:
  switchboard call greet.Greeter/SayHello '{"name":"John"}' --target localhost:50051
  switchboard call greet.Greeter/SayHello @req.json -t http://localhost:8080 -p greeter.proto
  switchboard call greet.Greeter/SayHello '{"name":"John"}' --hub http://127.0.0.1:7070
`;

export const callCommand: Command = {
  name: 'call',
  summary: 'call a method and print the response as JSON',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv,
        options: { ...TARGET_OPTIONS, ...REGISTRY_OPTIONS },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) {
      io.out(HELP);
      return EXIT_OK;
    }
    const [methodName, jsonArg, ...extra] = positionals;
    if (!methodName) throw new UsageError('which method? e.g. switchboard call greet.Greeter/SayHello');
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const { service, method } = splitMethodName(methodName);
    const requestText = await readRequestText(jsonArg, io);
    const byName = callsByName(values);
    if (!values.target && !byName) {
      throw new UsageError('--target host:port is required (or --hub <url> to call by name)');
    }
    const connection = byName ? await connectByName(values, service) : await connectTo(values);
    try {
      const contract = await contractFor(values, connection, [service]);
      const descriptor = contract.method(`${service}/${method}`);
      if (!descriptor) {
        const known = contract.services.find((s) => s.fullName === service);
        const list = known ? `it has ${known.methods.map((m) => m.name).join(', ')}` : 'no such service';
        throw new UsageError(`unknown method ${service}/${method} (${list})`);
      }
      const requests = parseRequests(requestText, descriptor);
      await invoke(descriptor, requests, connection, io);
      return EXIT_OK;
    } finally {
      await connection.transport.close();
    }
  },
};

function splitMethodName(name: string): { service: string; method: string } {
  const clean = name.replace(/^\//, '');
  const cut = clean.includes('/') ? clean.indexOf('/') : clean.lastIndexOf('.');
  const service = clean.slice(0, cut);
  const method = clean.slice(cut + 1);
  if (cut <= 0 || !method || method.includes('/')) {
    throw new UsageError(`${JSON.stringify(name)} is not package.Service/Method`);
  }
  return { service, method };
}

async function readRequestText(arg: string | undefined, io: CliIo): Promise<string> {
  if (arg === undefined) return '{}';
  if (arg === '-') return io.readStdin();
  if (arg.startsWith('@')) {
    try {
      return await readFile(arg.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${arg.slice(1)}: ${(err as Error).message}`);
    }
  }
  return arg;
}

/** The request message(s): JSON, or for request streams a JSON array or one object per line. */
function parseRequests(text: string, method: MethodDescriptor): Message[] {
  let values: unknown[];
  try {
    const parsed: unknown = JSON.parse(text.trim() || '{}');
    values = method.requestStream && Array.isArray(parsed) ? parsed : [parsed];
  } catch (err) {
    const lines = text.split('\n').filter((l) => l.trim());
    if (!method.requestStream || lines.length < 2)
      throw new UsageError(`the request is not JSON: ${(err as Error).message}`);
    try {
      values = lines.map((line) => JSON.parse(line) as unknown);
    } catch (lineErr) {
      throw new UsageError(`a request line is not JSON: ${(lineErr as Error).message}`);
    }
  }
  return values.map((value) => {
    try {
      return method.input.fromJson(value);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  });
}

async function invoke(method: MethodDescriptor, requests: Message[], connection: Connection, io: CliIo) {
  const stub = createClient<UntypedService>(method.service, connection.transport)[method.localName];
  if (!stub) throw new UsageError(`unknown method ${method.fullName}`);
  const options: CallOptions = { metadata: connection.metadata };
  if (connection.timeoutMs !== undefined) options.timeoutMs = connection.timeoutMs;
  const print = (message: Message, pretty: boolean) =>
    io.out(`${JSON.stringify(method.output.toJson(message), null, pretty ? 2 : undefined)}\n`);
  const input = method.requestStream ? requests : requests[0];
  const result = (stub as (input: unknown, options: CallOptions) => unknown)(input, options);
  if (method.responseStream) {
    for await (const message of result as AsyncIterable<Message>) print(message, false);
  } else {
    print((await result) as Message, true);
  }
}
