import { fuzzSuite } from './fuzz-suite.ts';
import { nativeTargets } from './targets/native.ts';

fuzzSuite('fuzz: native transport decoders', nativeTargets);
