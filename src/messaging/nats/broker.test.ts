/**
 * The conformance suite against a real JetStream: a private nats-server (test/support/
 * nats-server.ts), so the suite's restart case can kill and restart it without disturbing the
 * machine's shared server. Its store, with every stream and consumer of the run, goes with it.
 */
import { after } from 'node:test';
import { brokerConformance } from '../../../test/conformance/broker-suite.ts';
import { NatsServer, natsServerInstalled } from '../../../test/support/nats-server.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { NatsBroker } from './broker.ts';

const skip = await serviceMissing('nats-server (/usr/sbin/nats-server)', natsServerInstalled);
const server = skip ? undefined : await NatsServer.start();
after(() => server?.stop());

brokerConformance({
  name: 'nats',
  capabilities: {
    orderingPerKey: false,
    persistence: true,
    consumerGroups: true,
    replay: true,
    delayedRedelivery: true,
    dedupe: true,
  },
  skip,
  broker: () =>
    NatsBroker.connect({
      servers: server!.url,
      drainTimeoutMs: 300,
      retryBackoffMs: 20,
      reconnectTimeWaitMs: 100,
    }),
  restart: () => server!.restart(),
});
