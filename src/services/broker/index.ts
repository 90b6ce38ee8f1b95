export { BrokerService } from './broker-service.ts';
export {
  BROKER_SERVICE_NAME,
  type BrokerMethods,
  brokerContract,
  brokerService,
  Outcome,
} from './contract.ts';
