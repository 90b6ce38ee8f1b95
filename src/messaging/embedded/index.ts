/** The embedded broker: a durable, in-process Broker over the segment log (src/messaging/log). */
export { LogBroker } from './log-broker.ts';
export type { LogBrokerOptions } from './options.ts';
