import { fuzzSuite } from './fuzz-suite.ts';
import { grpcTargets } from './targets/grpc.ts';

fuzzSuite('fuzz: gRPC decoders', grpcTargets);
