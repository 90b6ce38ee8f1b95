import { fuzzSuite } from './fuzz-suite.ts';
import { hubTargets } from './targets/hub.ts';

fuzzSuite('fuzz: registry payloads, the hub and its clients', hubTargets);
