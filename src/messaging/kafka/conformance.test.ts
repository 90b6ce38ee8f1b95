/**
 * KafkaBroker against librdkafka's mock cluster (kcat), through the shared conformance suite.
 * No restart case: the mock keeps nothing across a restart. Group timings are short because
 * the mock delays a group's first join by a fixed 3 s and a later join by session − 1 s.
 */
import { after } from 'node:test';
import { brokerConformance } from '../../../test/conformance/broker-suite.ts';
import { KAFKA_TEST_TIMINGS, KafkaMockCluster, kcatInstalled } from '../../../test/support/kafka-mock.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { KafkaBroker } from './broker.ts';

const skip = await serviceMissing('kcat (the Kafka mock cluster)', kcatInstalled);
let cluster: Promise<KafkaMockCluster> | undefined;

after(async () => {
  await (await cluster)?.stop();
});

brokerConformance({
  name: 'kafka',
  // delayedRedelivery: the wait is in the subscriber; dedupe: the idempotent producer drops
  // a producer's own retries only. Persistence is Kafka's (the mock has none: no restart case).
  capabilities: {
    orderingPerKey: true,
    persistence: true,
    consumerGroups: true,
    replay: true,
    delayedRedelivery: false,
    dedupe: false,
  },
  skip,
  broker: async () => {
    cluster ??= KafkaMockCluster.start();
    const { bootstrapServers } = await cluster;
    return KafkaBroker.connect({ brokers: bootstrapServers, ...KAFKA_TEST_TIMINGS });
  },
});
