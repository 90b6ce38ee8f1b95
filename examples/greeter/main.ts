/**
 * The reference Greeter: gRPC on 127.0.0.1:50051, HTTP on 127.0.0.1:8080 (POST /api/hello),
 * native on 127.0.0.1:50052. Ports from GRPC_PORT, HTTP_PORT, NATIVE_PORT; HOST sets the address.
 * After listening it calls itself once over each transport, registers with the hub when
 * SWITCHBOARD_HUB is set, then serves until SIGINT/SIGTERM (deregister, drain, exit).
 */
import { connect, HubRegistry, loadContract, Server, type TransportKind } from '../../src/index.ts';
import { GREETER_PROTO, type GreeterService, greeter } from './greeter.ts';

const host = process.env.HOST ?? '127.0.0.1';
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const contract = await loadContract(GREETER_PROTO);
const service = contract.service('greet.Greeter');
const server = new Server({
  grpc: { host, port: port('GRPC_PORT', 50051) },
  http: { host, port: port('HTTP_PORT', 8080) },
  native: { host, port: port('NATIVE_PORT', 50052) },
}).add<GreeterService>(service, greeter);

const addresses = await server.listen();
for (const [kind, address] of Object.entries(addresses)) {
  console.log(`greeter: ${kind.padEnd(6)} listening on ${address.host}:${address.port}`);
}
console.log(
  `greeter: try  curl -s http://${host}:${addresses.http?.port}/api/hello -H 'content-type: application/json' -d '{"name":"John"}'`,
);

for (const kind of Object.keys(addresses) as TransportKind[]) {
  const address = addresses[kind]!;
  const client = connect<GreeterService>(service, {
    target: `${address.host}:${address.port}`,
    transport: kind,
  });
  try {
    const res = await client.sayHello({ name: 'John' }, { timeoutMs: 2000 });
    console.log(`greeter: self-check over ${kind}: ${res.message}`);
  } finally {
    await client.close();
  }
}

const hub = process.env.SWITCHBOARD_HUB;
const registry = hub
  ? new HubRegistry({ url: hub, onError: (err) => console.error(`greeter: hub: ${err.message}`) })
  : undefined;
if (registry) {
  await server.register({ registry, zone: process.env.ZONE });
  console.log(`greeter: registered as ${server.leases[0]?.instance.id} with the hub at ${registry.url}`);
}

server.closeOnSignals({ after: () => registry?.close() });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => console.log(`greeter: ${signal}, deregistering and draining calls`));
}
console.log('greeter: serving; Ctrl-C to stop');
