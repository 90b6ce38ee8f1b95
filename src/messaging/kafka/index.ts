/** The Kafka adapter of the Broker interface (kafkajs). */
export { KafkaBroker } from './broker.ts';
export { ID_HEADER } from './envelope.ts';
export type { KafkaBrokerOptions, KafkaGroupOptions } from './options.ts';
