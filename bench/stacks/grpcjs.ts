import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { through } from '../gate.ts';
import { GREETER_PROTO, greet } from '../greeter.ts';
import type { Caller, ConnectOptions, RunningServer, ServeOptions, Stack } from './stack.ts';

/**
 * @grpc/grpc-js client and server with @grpc/proto-loader, default options. Each client gets its
 * own subchannel pool so that N clients really are N HTTP/2 connections (the idle-memory run).
 */

interface HelloReply {
  message: string;
}

// google/api/annotations.proto (imported by the greeter contract) ships with protobufjs.
const PROTOBUFJS_DIR = path.dirname(createRequire(import.meta.url).resolve('protobufjs/package.json'));

function loadGreeter(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(GREETER_PROTO, { includeDirs: [PROTOBUFJS_DIR] });
  const greetPackage = grpc.loadPackageDefinition(definition).greet as grpc.GrpcObject;
  return greetPackage.Greeter as grpc.ServiceClientConstructor;
}

async function serve(options: ServeOptions): Promise<RunningServer> {
  const Greeter = loadGreeter();
  const server = new grpc.Server();
  server.addService(Greeter.service, {
    sayHello: (
      call: grpc.ServerUnaryCall<{ name: string }, HelloReply>,
      callback: grpc.sendUnaryData<HelloReply>,
    ) => {
      const reply = through(options.gate, { message: greet(call.request.name) });
      if (reply instanceof Promise) void reply.then((value) => callback(null, value));
      else callback(null, reply);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${options.host}:${options.port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    ),
  );
  return {
    port,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

type UnaryStub = (
  request: { name: string },
  callback: (err: grpc.ServiceError | null, reply?: HelloReply) => void,
) => grpc.ClientUnaryCall;

async function connect(options: ConnectOptions): Promise<Caller> {
  const Greeter = loadGreeter();
  const client = new Greeter(`${options.host}:${options.port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
  );
  const sayHello = (client.sayHello as UnaryStub).bind(client);
  return {
    sayHello: (name) =>
      new Promise((resolve, reject) =>
        sayHello({ name }, (err, reply) =>
          err || !reply ? reject(err ?? new Error('no reply')) : resolve(reply.message),
        ),
      ),
    close: async () => client.close(),
  };
}

export const stack: Stack = { serve, connect };
