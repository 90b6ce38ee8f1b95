import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Contract, loadContract } from '../../src/contract/index.ts';
import type { ClientTransport, Message, ServerTransport, UnaryMethod } from '../../src/core/index.ts';
import { createClient, type ServiceHost as Host, ServiceHost } from '../../src/core/index.ts';
import { through } from '../gate.ts';
import { GREETER_PROTO, GREETER_SERVICE, greet, REPO_ROOT } from '../greeter.ts';
import type { Caller, ConnectOptions, RunningServer, ServeOptions, Stack } from './stack.ts';

/**
 * A Switchboard transport as a benchmark stack: the greeter served by a ServiceHost over the
 * transport's server, called through `createClient` over its client, exactly as an application
 * does. The transport module is imported by path at run time, so this file compiles (and the
 * harness skips the stack) while the transport does not exist yet.
 */
export interface SwitchboardTransport {
  /** Module path from the repository root, e.g. "src/transports/native/index.ts". */
  module: string;
  serverExport: string;
  clientExport: string;
  /** The client's `target` option for a server at host:port. */
  target(host: string, port: number): string;
  /** Extra client options, e.g. a connection count for a pooling client. */
  clientOptions?(options: ConnectOptions): Record<string, unknown>;
}

type GreeterService = { sayHello: UnaryMethod<{ name: string }, { message: string }> };

type ServerClass = new (host: Host, options: { host?: string; port?: number }) => ServerTransport;
type ClientClass = new (options: { target: string } & Record<string, unknown>) => ClientTransport;

let contract: Promise<Contract> | undefined;

function greeterContract(): Promise<Contract> {
  contract ??= loadContract(GREETER_PROTO);
  return contract;
}

async function exported<T>(transport: SwitchboardTransport, name: string): Promise<T> {
  const url = pathToFileURL(path.join(REPO_ROOT, transport.module)).href;
  const loaded = (await import(url)) as Record<string, unknown>;
  const value = loaded[name];
  if (typeof value !== 'function') throw new Error(`${transport.module} does not export ${name}`);
  return value as T;
}

export function switchboardStack(transport: SwitchboardTransport): Stack {
  return {
    async serve(options: ServeOptions): Promise<RunningServer> {
      const Server = await exported<ServerClass>(transport, transport.serverExport);
      const service = (await greeterContract()).service(GREETER_SERVICE);
      const host = new ServiceHost().add<GreeterService>(service, {
        sayHello: (request) => through(options.gate, { message: greet(request.name) }),
      });
      const server = new Server(host, { host: options.host, port: options.port });
      const address = await server.listen();
      return { port: address.port, close: () => server.close(0) };
    },

    async connect(options: ConnectOptions): Promise<Caller> {
      const Client = await exported<ClientClass>(transport, transport.clientExport);
      const service = (await greeterContract()).service(GREETER_SERVICE);
      const clientTransport = new Client({
        target: transport.target(options.host, options.port),
        ...transport.clientOptions?.(options),
      });
      const client = createClient(service, clientTransport);
      const sayHello = client.sayHello as (request: Message) => Promise<Message>;
      return {
        sayHello: (name) => sayHello({ name }).then((response) => response.message as string),
        close: () => clientTransport.close(),
      };
    },
  };
}
