/** The RabbitMQ adapter of the Broker interface (docs/brokers/rabbitmq.md). */
export { RabbitBroker } from './broker.ts';
export { RabbitUnavailableError } from './connection.ts';
export type { RabbitBrokerOptions } from './options.ts';
