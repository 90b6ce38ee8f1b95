import { fuzzSuite } from './fuzz-suite.ts';
import { brokerCodecTargets } from './targets/broker-codec.ts';
import { messagingTargets } from './targets/messaging.ts';

fuzzSuite('fuzz: broker records, the on-disk log and the Consume stream', [
  ...messagingTargets,
  ...brokerCodecTargets,
]);
