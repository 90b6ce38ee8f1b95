/**
 * The conformance suite against a private redis-server (append-only, fsync always), which the
 * suite's restart case kills and starts again; the shared server on 6379 is never restarted.
 */
import { after } from 'node:test';
import { brokerConformance } from '../../../test/conformance/broker-suite.ts';
import { RedisServer, redisServerInstalled } from '../../../test/support/redis-server.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { RedisBroker } from './broker.ts';

const skip = await serviceMissing('redis-server', redisServerInstalled);
const server = skip ? undefined : await RedisServer.start();
after(() => server?.stop());

brokerConformance({
  name: 'redis',
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
    RedisBroker.connect({ url: server!.url, claimIntervalMs: 100, drainTimeoutMs: 300, retryBackoffMs: 20 }),
  restart: () => server!.restart(),
});
