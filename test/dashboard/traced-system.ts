/**
 * A small traced system for the dashboard test, all real: a hub; two greet.Greeter servers and
 * a shop.Frontend server registered with it; a load generator calling the frontend by name,
 * which calls the greeter by name and publishes to the hub's broker, where an audit consumer
 * reads. Every party exports its spans as OTLP/HTTP JSON to the hub, one span at a time.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GREETER_PROTO } from '../../examples/greeter/greeter.ts';
import { connect } from '../../src/app/connect.ts';
import { Server } from '../../src/app/server.ts';
import { loadContract } from '../../src/contract/contract.ts';
import { StatusError } from '../../src/contract/errors.ts';
import { Status } from '../../src/contract/status.ts';
import type { UnaryMethod } from '../../src/core/types.ts';
import { HubRegistry } from '../../src/discovery/hub/registry.ts';
import { HubServer } from '../../src/hub/server.ts';
import type { Subscription } from '../../src/messaging/broker.ts';
import {
  startTracing,
  TracedBroker,
  type Tracing,
  tracingInterceptors,
} from '../../src/observe/tracing/index.ts';

const FRONTEND_PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'frontend.proto');

type GreeterService = { sayHello: UnaryMethod<{ name: string }, { message: string }> };
type FrontendService = { greet: UnaryMethod<{ name: string }, { message: string }> };

/** Who the load generator greets: "nobody" fails at the greeter, "Eve" is dead-lettered by audit. */
const NAMES = ['John', 'Ada', 'Grace', 'Eve', 'Linus', 'Barbara', 'Ken', 'nobody', 'Alan', 'Edsger'];

export const TOPIC = 'greetings';

export interface TracedSystem {
  hub: HubServer;
  /** Instance ids the registry holds, per service. */
  instanceIds: Record<string, string[]>;
  /** Calls the load generator made so far. */
  calls(): number;
  /** Stops the hub only (the page should notice); `close()` still stops everything else. */
  stopHub(): Promise<void>;
  close(): Promise<void>;
}

export async function startTracedSystem(): Promise<TracedSystem> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const hub = new HubServer({ port: 0 });
    await hub.listen();
    let hubStopped = false;
    const stopHub = async () => {
      if (hubStopped) return;
      hubStopped = true;
      await hub.close();
    };
    cleanups.push(stopHub);
    const registry = new HubRegistry({ url: hub.url });
    cleanups.push(() => registry.close());
    const tracing = (serviceName: string): Tracing => {
      const t = startTracing({ serviceName, hubUrl: hub.url, batch: false });
      cleanups.push(() => t.shutdown());
      return t;
    };
    const greeterTracing = tracing('greet.Greeter');
    const frontendTracing = tracing('shop.Frontend');
    const loadTracing = tracing('loadgen');
    const auditTracing = tracing('audit');

    const greeterService = (await loadContract(GREETER_PROTO)).service('greet.Greeter');
    const frontendService = (await loadContract(FRONTEND_PROTO)).service('shop.Frontend');

    const servers: Server[] = [];
    for (let i = 0; i < 2; i++) {
      const server = new Server({
        native: { host: '127.0.0.1', port: 0 },
        grpc: { host: '127.0.0.1', port: 0 },
        interceptors: [tracingInterceptors({ tracer: greeterTracing.tracer }).server],
      }).add<GreeterService>(greeterService, {
        sayHello(req) {
          if (req.name === 'nobody') throw new StatusError(Status.NOT_FOUND, 'nobody to greet');
          return { message: `Hello, ${req.name}!` };
        },
      });
      servers.push(server);
    }

    const frontendTracers = tracingInterceptors({ tracer: frontendTracing.tracer });
    const greeterClient = connect<GreeterService>(greeterService, {
      registry,
      interceptors: [frontendTracers.client],
    });
    cleanups.push(() => greeterClient.close());
    const broker = hub.broker;
    if (!broker) throw new Error('the hub serves no broker');
    const frontendBroker = new TracedBroker(broker, { tracer: frontendTracing.tracer });
    const frontend = new Server({
      native: { host: '127.0.0.1', port: 0 },
      grpc: { host: '127.0.0.1', port: 0 },
      interceptors: [frontendTracers.server],
    }).add<FrontendService>(frontendService, {
      async greet(req) {
        const reply = await greeterClient.sayHello({ name: req.name });
        await frontendBroker.publish(TOPIC, { key: req.name, payload: Buffer.from(reply.message) });
        return reply;
      },
    });
    servers.push(frontend);
    for (const [i, server] of servers.entries()) {
      await server.listen();
      cleanups.push(() => server.close(0));
      // The greeters in two zones, so the instances table shows zones.
      const zone = i < 2 ? `zone-${'ab'[i]}` : undefined;
      await server.register({ registry, zone, deregisterDelayMs: 0 });
    }

    const audit: Subscription = await new TracedBroker(broker, { tracer: auditTracing.tracer }).subscribe(
      TOPIC,
      async (delivery) => {
        if (Buffer.from(delivery.payload).toString().includes('Eve'))
          await delivery.term('Eve is not audited');
      },
      { group: 'audit', startAt: 'earliest' },
    );
    cleanups.push(() => audit.close());

    const loadClient = connect<FrontendService>(frontendService, {
      registry,
      interceptors: [tracingInterceptors({ tracer: loadTracing.tracer }).client],
    });
    cleanups.push(() => loadClient.close());
    // Steady traffic, about 8 calls a second: every call makes six spans, each its own POST.
    let calls = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        const name = NAMES[calls % NAMES.length] as string;
        calls++;
        await loadClient.greet({ name }, { timeoutMs: 2000 }).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 120));
      }
    })();
    // Last in, so first out: the load stops before the clients close.
    cleanups.push(async () => {
      running = false;
      await load;
    });

    const instanceIds: Record<string, string[]> = {};
    for (const server of servers) {
      for (const { instance } of server.leases) {
        instanceIds[instance.service] = [...(instanceIds[instance.service] ?? []), instance.id];
      }
    }
    return { hub, instanceIds, calls: () => calls, stopHub, close };
  } catch (err) {
    await close();
    throw err;
  }
}
