import { fuzzSuite } from './fuzz-suite.ts';
import { messagingTargets } from './targets/messaging.ts';

fuzzSuite('fuzz: broker records and the on-disk log', messagingTargets);
