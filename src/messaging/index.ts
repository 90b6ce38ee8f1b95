/** Messaging: the Broker interface every adapter implements, and the in-process reference broker. */
export type {
  Broker,
  BrokerCapabilities,
  BrokerStats,
  Delivery,
  DeliveryHandler,
  GroupStats,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
  TopicStats,
} from './broker.ts';
export { LogBroker, type LogBrokerOptions } from './embedded/index.ts';
export { KafkaBroker, type KafkaBrokerOptions } from './kafka/index.ts';
export { MemoryBroker, type MemoryBrokerOptions } from './memory/broker.ts';
export { MemoryBrokerState } from './memory/state.ts';
export type { TopicLimits } from './memory/topic.ts';
export { NatsBroker, type NatsBrokerOptions, NatsUnavailableError } from './nats/index.ts';
export { RabbitBroker, type RabbitBrokerOptions, RabbitUnavailableError } from './rabbitmq/index.ts';
export { RedisBroker, type RedisBrokerOptions, RedisUnavailableError } from './redis/index.ts';
