import path from 'node:path';
import { type Contract, loadContractSync } from '../../contract/contract.ts';
import { BUNDLED_PROTO_DIR } from '../../contract/paths.ts';
import type { BidiStreamingMethod, Message, UnaryMethod } from '../../core/types.ts';

export const BROKER_SERVICE_NAME = 'switchboard.broker.v1.Broker';

/** Where a hub serves its broker unless told otherwise: its HTTP port (7070) + 1. */
export const DEFAULT_HUB_BROKER_PORT = 7071;

/** Settle outcomes as the wire carries them (switchboard.broker.v1.Outcome). */
export const Outcome = { ACK: 1, NACK: 2, TERM: 3, FAIL: 4 } as const;

/** switchboard.broker.v1.Broker's methods, for typing the service and its client. */
export type BrokerMethods = {
  publish: UnaryMethod<Message, Message>;
  consume: BidiStreamingMethod<Message, Message>;
};

/** Most messages one Publish may carry; the client's batches stay far below. */
export const MAX_PUBLISH_BATCH = 10_000;

let contract: Contract | undefined;

/** The bundled switchboard/broker/v1/broker.proto, loaded once. */
export function brokerContract(): Contract {
  contract ??= loadContractSync(path.join(BUNDLED_PROTO_DIR, 'switchboard/broker/v1/broker.proto'));
  return contract;
}
