import { fuzzSuite } from './fuzz-suite.ts';
import { httpTargets } from './targets/http.ts';

fuzzSuite('fuzz: HTTP routing, binding and codecs', httpTargets);
