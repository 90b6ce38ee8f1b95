import type { FuzzTarget } from '../fuzz-kit.ts';
import { brokerCodecTargets } from './broker-codec.ts';
import { grpcTargets } from './grpc.ts';
import { httpTargets } from './http.ts';
import { hubTargets } from './hub.ts';
import { messagingTargets } from './messaging.ts';
import { nativeTargets } from './native.ts';

/** Every fuzz target, for scripts/fuzz.ts. */
export async function allTargets(): Promise<FuzzTarget[]> {
  return [
    ...nativeTargets,
    ...grpcTargets,
    ...httpTargets,
    ...messagingTargets,
    ...brokerCodecTargets,
    ...hubTargets,
  ];
}
