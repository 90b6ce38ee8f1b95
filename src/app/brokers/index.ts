export { HubBroker, type HubBrokerOptions } from './hub-broker.ts';
