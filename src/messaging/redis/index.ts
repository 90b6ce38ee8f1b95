/** The Redis Streams adapter of the Broker interface (docs/brokers/redis.md). */
export { RedisBroker } from './broker.ts';
export { RedisUnavailableError } from './connection.ts';
export type { RedisBrokerOptions } from './options.ts';
