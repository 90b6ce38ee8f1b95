/** The NATS JetStream adapter of the Broker interface (docs/brokers/nats.md). */
export { NatsBroker } from './broker.ts';
export { NatsUnavailableError } from './connection-watch.ts';
export { encodeName, type TopicNames } from './naming.ts';
export type { NatsBrokerOptions } from './options.ts';
