import { type Context, ServiceBroker } from 'moleculer';
import { through } from '../gate.ts';
import { greet } from '../greeter.ts';
import type { Caller, ConnectOptions, RunningServer, ServeOptions, Stack } from './stack.ts';

/**
 * Moleculer 0.15 with its TCP transporter, default broker options otherwise (JSON serializer,
 * no metrics, no tracing). One broker per process; UDP discovery is off and the client finds
 * the server through a static `urls` entry, so it works on loopback without multicast.
 */

const SERVER_NODE = 'bench-server';

async function serve(options: ServeOptions): Promise<RunningServer> {
  const broker = new ServiceBroker({
    nodeID: SERVER_NODE,
    logger: false,
    transporter: {
      type: 'TCP',
      options: { udpDiscovery: false, ...(options.port ? { port: options.port } : {}) },
    },
  });
  broker.createService({
    name: 'greeter',
    actions: {
      sayHello: (ctx: Context<{ name: string }>) =>
        through(options.gate, { message: greet(ctx.params.name) }),
    },
  });
  await broker.start();
  return { port: listeningPort(broker), close: () => broker.stop() };
}

/** The port the TCP transporter bound (it picks one when given none). */
function listeningPort(broker: ServiceBroker): number {
  const transporter = broker.transit?.tx as unknown as { opts?: { port?: unknown } } | undefined;
  const port = transporter?.opts?.port;
  if (typeof port !== 'number') throw new Error('cannot find the port of the Moleculer TCP transporter');
  return port;
}

async function connect(options: ConnectOptions): Promise<Caller> {
  const broker = new ServiceBroker({
    nodeID: `bench-client-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    logger: false,
    transporter: {
      type: 'TCP',
      options: { udpDiscovery: false, urls: `${options.host}:${options.port}/${SERVER_NODE}` },
    },
  });
  await broker.start();
  await broker.waitForServices('greeter', 10_000);
  return {
    sayHello: (name) =>
      broker.call('greeter.sayHello', { name }).then((response) => (response as { message: string }).message),
    close: () => broker.stop(),
  };
}

export const stack: Stack = { serve, connect };
